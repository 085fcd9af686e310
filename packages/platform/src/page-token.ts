/**
 * Opaque page tokens, shared by every paginated method.
 *
 * A token is base64url(JSON `{ v, k, p }`): a format version, the kind of list
 * it pages (so a token of one list is refused by another) and the position.
 * Decoding is strict: canonical base64url only, bounded length, the exact
 * envelope and a schema for the position (UUIDs in canonical form, integers in
 * range). Whatever fails is the caller's mistake and answers
 * `invalid_argument`; nothing malformed ever reaches a query.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { z } from "zod";

const VERSION = 1;
/** Far above any token we issue; bounds the work spent on garbage. */
const MAX_TOKEN_LENGTH = 512;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** Building blocks for position schemas. */
export const pagePosition = {
  /** A canonical lower-case UUID, as Postgres prints them. */
  uuid: z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
  /** Milliseconds since the epoch that make a valid JS Date and Postgres timestamp. */
  epochMs: z.number().int().min(0).max(8.64e15),
  /** A row offset: integer in [0, max]. */
  offset: (max: number) => z.number().int().min(0).max(max),
};

export interface PageTokenCodec<T> {
  encode(position: T): string;
  /** "" (the first page) → undefined; anything but a token this codec issued → `invalid_argument`. */
  decode(token: string, field?: string): T | undefined;
}

export function pageTokenCodec<T>(kind: string, position: z.ZodType<T>): PageTokenCodec<T> {
  const envelope = z.strictObject({ v: z.literal(VERSION), k: z.literal(kind), p: position });
  const refuse = (field: string) =>
    new ConnectError(`${field} is not a page token this method issued; send next_page_token unchanged, or "" for the first page`, Code.InvalidArgument);
  return {
    encode(p) {
      return Buffer.from(JSON.stringify({ v: VERSION, k: kind, p }), "utf8").toString("base64url");
    },
    decode(token, field = "page_token") {
      if (token === "") return undefined;
      if (token.length > MAX_TOKEN_LENGTH || !BASE64URL.test(token)) throw refuse(field);
      const bytes = Buffer.from(token, "base64url");
      // Node's decoder skips what it cannot read; only the exact encoding of the bytes counts.
      if (bytes.toString("base64url") !== token) throw refuse(field);
      let json: unknown;
      try {
        json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
      } catch {
        throw refuse(field);
      }
      const parsed = envelope.safeParse(json);
      if (!parsed.success) throw refuse(field);
      return parsed.data.p;
    },
  };
}

/** Keyset position (timestamp desc, id desc) — a row's time at ms precision and its UUID. */
export interface TimeIdPosition {
  at: Date;
  id: string;
}

export function timeIdPageTokens(kind: string): PageTokenCodec<TimeIdPosition> {
  const codec = pageTokenCodec(kind, z.tuple([pagePosition.epochMs, pagePosition.uuid]));
  return {
    encode: (position) => codec.encode([position.at.getTime(), position.id]),
    decode(token, field) {
      const p = codec.decode(token, field);
      return p && { at: new Date(p[0]), id: p[1] };
    },
  };
}

/** Offset pagination (small lists, or rankings where keysets don't apply). */
export function offsetPageTokens(kind: string, maxOffset: number): PageTokenCodec<number> {
  return pageTokenCodec(kind, pagePosition.offset(maxOffset));
}
