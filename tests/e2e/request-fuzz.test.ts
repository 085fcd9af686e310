/**
 * Issue 7, "done when": a property test over the RPC request decoders. Random
 * and mutated bodies — JSON and binary, compressed or not, under Connect,
 * gRPC and gRPC-web, with valid and odd content types — go to a running
 * product for public (Register, Login) and authenticated (SendMessage,
 * ListMessages) methods. Whatever arrives: the answer is never `internal` or
 * `unknown`, the server keeps answering, and only accepted calls write.
 */
import { randomUUID } from "node:crypto";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { create, toBinary, toJsonString, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { sql } from "drizzle-orm";
import type { EmbeddedParley } from "@parley/embedded";
import { ConversationService } from "@parley/gen/parley/chat/v1/conversation_pb";
import { ListMessagesRequestSchema, SendMessageRequestSchema } from "@parley/gen/parley/chat/v1/message_pb";
import { LoginRequestSchema, RegisterRequestSchema } from "@parley/gen/parley/identity/v1/auth_pb";
import { bearer } from "@parley/platform/testing";
import { startParley } from "./support/parley.js";
import { connectUnary, grpcCall, grpcFrame, type RawAnswer } from "./support/raw-rpc.js";

const RUNS = Number(process.env.FUZZ_RUNS ?? 200);

let parley: EmbeddedParley;
let token: string;
let conversationId: string;

async function rows(table: "identity.users" | "chat.messages"): Promise<number> {
  // node-postgres and PGlite both answer `{ rows }`; drizzle's generic database type does not say so.
  const result = (await parley.deps.database.db.execute(sql.raw(`select count(*)::int as n from ${table}`))) as unknown as { rows: { n: number }[] };
  return Number(result.rows[0]?.n);
}

beforeAll(async () => {
  // Rate limits would answer most calls before they reach a handler; the decoders are the subject here.
  parley = await startParley({ RATE_LIMIT_SCALE: "1000" });
  ({ token } = await parley.deps.signer!.signAccess({ userId: randomUUID(), sessionId: `s-${randomUUID()}` }));
  const conversations = createClient(
    ConversationService,
    createConnectTransport({ baseUrl: parley.apiUrl, httpVersion: "1.1", interceptors: [bearer(token)] }),
  );
  conversationId = (await conversations.createGroup({ title: "fuzz", memberIds: [] })).conversation!.id;
});
afterAll(async () => {
  await parley?.close();
});

interface Target {
  procedure: string;
  authed: boolean;
  /** A well-formed request to mutate; `id` makes each run's write distinct. */
  base(id: string): { json: Uint8Array; binary: Uint8Array };
  /** Table an accepted call adds one row to. */
  writes?: "identity.users" | "chat.messages";
}

function encodings<D extends DescMessage>(schema: D, init: MessageInitShape<D>): { json: Uint8Array; binary: Uint8Array } {
  const msg = create(schema, init);
  return { json: new TextEncoder().encode(toJsonString(schema, msg)), binary: toBinary(schema, msg) };
}

const targets: Target[] = [
  {
    procedure: "parley.identity.v1.AuthService/Register",
    authed: false,
    // Password too short: mutations that keep it invalid are the common case; the rest must really register.
    base: (id) => encodings(RegisterRequestSchema, { email: `f${id.slice(0, 8)}@example.com`, username: `f${id.slice(0, 8)}`, password: "short", displayName: "Fuzz" }),
    writes: "identity.users",
  },
  {
    procedure: "parley.identity.v1.AuthService/Login",
    authed: false,
    base: (id) => encodings(LoginRequestSchema, { login: `nobody${id.slice(0, 8)}`, password: "not the password 1" }),
  },
  {
    procedure: "parley.chat.v1.MessageService/SendMessage",
    authed: true,
    base: (id) => encodings(SendMessageRequestSchema, { conversationId, clientMessageId: id, text: "fuzz ✓ message" }),
    writes: "chat.messages",
  },
  {
    procedure: "parley.chat.v1.MessageService/ListMessages",
    authed: true,
    base: () => encodings(ListMessagesRequestSchema, { conversationId, cursorSeq: 1n, limit: 20 }),
  },
];

type Mutation =
  | { kind: "flip"; at: number; bit: number }
  | { kind: "truncate"; at: number }
  | { kind: "insert"; at: number; bytes: Uint8Array }
  | { kind: "delete"; at: number; length: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 8 }) }),
);

function mutate(bytes: Uint8Array, mutations: Mutation[]): Uint8Array {
  let out = Buffer.from(bytes);
  for (const m of mutations) {
    const at = out.length === 0 ? 0 : m.at % (out.length + 1);
    if (m.kind === "flip" && at < out.length) out[at] = (out[at] ?? 0) ^ (1 << m.bit);
    else if (m.kind === "truncate") out = out.subarray(0, at);
    else if (m.kind === "insert") out = Buffer.concat([out.subarray(0, at), m.bytes, out.subarray(at)]);
    else if (m.kind === "delete") out = Buffer.concat([out.subarray(0, at), out.subarray(at + m.length)]);
  }
  return new Uint8Array(out);
}

type Source = { kind: "mutated"; format: "json" | "binary"; mutations: Mutation[] } | { kind: "random"; bytes: Uint8Array } | { kind: "json"; value: unknown };

const source: fc.Arbitrary<Source> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("mutated" as const), format: fc.constantFrom("json" as const, "binary" as const), mutations: fc.array(mutation, { minLength: 0, maxLength: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("random" as const), bytes: fc.uint8Array({ maxLength: 256 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("json" as const), value: fc.jsonValue({ maxDepth: 3 }) }) },
);

/** How the body travels: the protocol, the content type it claims, and its compression (mostly the natural ones, so bodies reach the decoders). */
const wire = fc.record({
  protocol: fc.constantFrom("connect" as const, "grpc" as const, "grpc-web" as const),
  contentType: fc.oneof(
    { weight: 8, arbitrary: fc.constant("natural") },
    { weight: 2, arbitrary: fc.constantFrom("json", "proto") },
    { weight: 1, arbitrary: fc.constantFrom("text/plain", "application/json; charset=utf-16", "application/x-www-form-urlencoded", "") },
  ),
  compression: fc.oneof(
    { weight: 5, arbitrary: fc.constant("none" as const) },
    { weight: 3, arbitrary: fc.constant("gzip" as const) },
    { weight: 1, arbitrary: fc.constantFrom("gzip-header-only" as const, "br-header-only" as const, "unknown-encoding" as const) },
  ),
});

type Wire = typeof wire extends fc.Arbitrary<infer T> ? T : never;

function bodyOf(src: Source, base: { json: Uint8Array; binary: Uint8Array }): { bytes: Uint8Array; json: boolean } {
  if (src.kind === "mutated") return { bytes: mutate(src.format === "json" ? base.json : base.binary, src.mutations), json: src.format === "json" };
  if (src.kind === "random") return { bytes: src.bytes, json: false };
  return { bytes: new TextEncoder().encode(JSON.stringify(src.value) ?? "null"), json: true };
}

function contentType(protocol: "connect" | "grpc" | "grpc-web", choice: string, json: boolean): string {
  const pick = choice === "natural" ? (json ? "json" : "proto") : choice;
  if (pick !== "json" && pick !== "proto") return pick;
  if (protocol === "connect") return `application/${pick}`;
  return `application/${protocol}+${pick}`;
}

/** gRPC-web answers with grpc-status in the headers (trailers-only) or in a trailer frame at the end of the body. */
async function grpcWebCall(baseUrl: string, procedure: string, body: Uint8Array, headers: Record<string, string>): Promise<RawAnswer> {
  const res = await fetch(`${baseUrl}/${procedure}`, { method: "POST", headers, body: new Uint8Array(body) });
  const bytes = new Uint8Array(await res.arrayBuffer());
  let status = res.headers.get("grpc-status");
  for (let at = 0; status === null && at + 5 <= bytes.length; ) {
    const length = new DataView(bytes.buffer, bytes.byteOffset + at + 1, 4).getUint32(0);
    if ((bytes[at] ?? 0) & 0x80) status = /grpc-status:\s*(\d+)/i.exec(Buffer.from(bytes.subarray(at + 5, at + 5 + length)).toString("latin1"))?.[1] ?? null;
    at += 5 + length;
  }
  const names = ["ok", "canceled", "unknown", "invalid_argument", "deadline_exceeded", "not_found", "already_exists", "permission_denied", "resource_exhausted", "failed_precondition", "aborted", "out_of_range", "unimplemented", "internal", "unavailable", "data_loss", "unauthenticated"];
  return { status: res.status, code: status === null ? `http_${res.status}` : (names[Number(status)] ?? `grpc_${status}`), message: "" };
}

async function send(target: Target, src: Source, how: Wire, id: string): Promise<RawAnswer> {
  const { bytes, json } = bodyOf(src, target.base(id));
  const type = contentType(how.protocol, how.contentType, json);
  const auth: Record<string, string> = target.authed ? { authorization: `Bearer ${token}` } : {};
  const compressed = how.compression === "gzip" ? new Uint8Array(gzipSync(bytes)) : bytes;
  const encodingName = { none: undefined, gzip: "gzip", "gzip-header-only": "gzip", "br-header-only": "br", "unknown-encoding": "zstd-x" }[how.compression];
  if (how.protocol === "connect") {
    const headers: Record<string, string> = { ...auth, ...(type ? { "content-type": type } : {}), ...(encodingName ? { "content-encoding": encodingName } : {}) };
    return connectUnary(parley.apiUrl, target.procedure, compressed, headers);
  }
  const frame = grpcFrame(compressed, encodingName !== undefined);
  const headers: Record<string, string> = { ...auth, ...(encodingName ? { [`grpc-encoding`]: encodingName } : {}) };
  if (how.protocol === "grpc") return grpcCall(parley.apiUrl, target.procedure, frame, { ...headers, "content-type": type || "application/grpc" });
  return grpcWebCall(parley.apiUrl, target.procedure, frame, { ...headers, ...(type ? { "content-type": type } : {}) });
}

describe("RPC request decoders under random input", () => {
  it(`never answer internal/unknown, keep serving, and write only for accepted calls (${RUNS} runs)`, async () => {
    const before = { "identity.users": await rows("identity.users"), "chat.messages": await rows("chat.messages") };
    const accepted = { "identity.users": 0, "chat.messages": 0 };
    const seen = new Map<string, number>();

    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...targets), source, wire, fc.uuid({ version: 4 }), async (target, src, how, id) => {
        const answer = await send(target, src, how, id);
        seen.set(answer.code, (seen.get(answer.code) ?? 0) + 1);
        expect(["internal", "unknown"], `${target.procedure} via ${how.protocol}: ${answer.code} ${answer.message}`).not.toContain(answer.code);
        expect(answer.status).not.toBe(500);
        if (answer.code === "ok" && target.writes) accepted[target.writes]++;
      }),
      { numRuns: RUNS },
    );

    // Only the calls the server accepted wrote anything (each accepted one exactly one row).
    expect(await rows("identity.users")).toBe(before["identity.users"] + accepted["identity.users"]);
    expect(await rows("chat.messages")).toBe(before["chat.messages"] + accepted["chat.messages"]);
    // Still serving: a well-formed call goes through.
    const ok = await connectUnary(parley.apiUrl, "parley.chat.v1.MessageService/ListMessages", targets[3]!.base("").json, {
      "content-type": "application/json",
      authorization: `Bearer ${token}`,
    });
    expect(ok.code).toBe("ok");
    // The runs exercised refusals, not just one path.
    expect(seen.size).toBeGreaterThan(2);
  });
});
