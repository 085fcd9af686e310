/**
 * Realtime protocol negotiation by WebSocket subprotocol: `parley.v<version>.<encoding>`
 * (encoding `proto` = binary protobuf, `json` = protobuf JSON text frames) plus the
 * `parley.auth.<jwt>` entry carrying the token. A client offers every version it speaks; the
 * edge answers with the highest version both speak (proto over json within it). A client
 * that offers Parley protocols but none of a version this edge speaks (newer than it, or
 * retired) is refused with close 4426 and a reason telling it to upgrade.
 *
 * `parley.v1.proto` / `parley.v1.json` are the names every SDK before versioning sent, so they
 * are simply v1. A client offering no Parley protocol at all (only the token) still gets v1
 * binary protobuf with no Sec-WebSocket-Protocol answer, as before.
 */
import { AUTH_SUBPROTOCOL_PREFIX } from "./codec.js";

/** The realtime protocol versions this edge speaks. Retiring one = removing it here. */
export const PROTOCOL_VERSIONS: readonly number[] = [1];

/** Close code of a refused protocol version (426 is HTTP's Upgrade Required). */
export const CLOSE_UPGRADE_REQUIRED = 4426;

const PARLEY_PROTOCOL = /^parley\.v(\d{1,6})\.([a-z0-9-]+)$/;
const ENCODINGS = new Set(["proto", "json"]);
/** RFC 6455: a close reason is at most 123 bytes of UTF-8 (ours are ASCII). */
const MAX_REASON = 123;

export type Negotiated =
  | {
      ok: true;
      /** What the server answers in Sec-WebSocket-Protocol, or "" (no header) when no Parley protocol was offered. */
      selected: string;
      json: boolean;
      version: number;
      token: string | undefined;
    }
  | {
      ok: false;
      /**
       * The client's own first Parley offer, echoed so that browsers and `ws` complete the
       * handshake and show the app the close reason (a handshake answering none of the offered
       * protocols, or an HTTP 426, reaches a browser app only as a bare 1006).
       */
      selected: string;
      reason: string;
    };

/**
 * Reads the Sec-WebSocket-Protocol offer. Never selects the `parley.auth.` entry: echoing it
 * would copy the access token into every proxy's response log.
 */
export function negotiateSubprotocol(header: string, supported: readonly number[] = PROTOCOL_VERSIONS): Negotiated {
  const offered = header.split(",").map((s) => s.trim()).filter(Boolean);
  const token = offered.find((p) => p.startsWith(AUTH_SUBPROTOCOL_PREFIX))?.slice(AUTH_SUBPROTOCOL_PREFIX.length);
  const parley = offered.flatMap((name) => {
    const m = PARLEY_PROTOCOL.exec(name);
    return m ? [{ name, version: Number(m[1]), encoding: m[2]! }] : [];
  });
  if (parley.length === 0) return { ok: true, selected: "", json: false, version: 1, token };
  const usable = parley.filter((p) => supported.includes(p.version) && ENCODINGS.has(p.encoding));
  if (usable.length === 0) {
    const speaks = supported.map((v) => `v${v}`).join("/") || "no version";
    const reason = `upgrade the Parley SDK: this server speaks realtime protocol ${speaks}, not ${parley.map((p) => p.name).join(", ")}`;
    return { ok: false, selected: parley[0]!.name, reason: reason.length > MAX_REASON ? `${reason.slice(0, MAX_REASON - 3)}...` : reason };
  }
  const version = Math.max(...usable.map((p) => p.version));
  const atVersion = usable.filter((p) => p.version === version);
  const choice = atVersion.find((p) => p.encoding === "proto") ?? atVersion[0]!;
  return { ok: true, selected: choice.name, json: choice.encoding === "json", version, token };
}
