import { create, fromBinary, fromJsonString, toBinary, toJsonString, type MessageInitShape } from "@bufbuild/protobuf";
import { ClientFrameSchema, ServerFrameSchema, type ServerFrame } from "@parley/gen/parley/realtime/v1/frames_pb";

export type RealtimeProtocol = "proto" | "json";

/**
 * Realtime protocol versions this SDK speaks, newest first. The client offers
 * `parley.v<version>.<encoding>` for each, and the edge answers with the highest
 * version both speak; an edge that speaks none of them closes with
 * CLOSE_UPGRADE_REQUIRED (see services/realtime/src/handlers/subprotocol.ts).
 */
export const PROTOCOL_VERSIONS: readonly number[] = [1];

/** Close code of an edge that does not speak any protocol version offered (HTTP's 426 Upgrade Required). */
export const CLOSE_UPGRADE_REQUIRED = 4426;

/** The subprotocols to offer for an encoding, newest version first. */
export function subprotocolsFor(protocol: RealtimeProtocol, versions: readonly number[] = PROTOCOL_VERSIONS): string[] {
  return versions.map((v) => `parley.v${v}.${protocol}`);
}

/** The v1 names, which every SDK before versioning sent (and edges still accept as v1). */
export const SUBPROTOCOLS: Record<RealtimeProtocol, string> = { proto: "parley.v1.proto", json: "parley.v1.json" };
export const AUTH_SUBPROTOCOL_PREFIX = "parley.auth.";

export type ClientFrameInit = MessageInitShape<typeof ClientFrameSchema>;

export function encodeClientFrame(init: ClientFrameInit, protocol: RealtimeProtocol): Uint8Array | string {
  const frame = create(ClientFrameSchema, init);
  return protocol === "json" ? toJsonString(ClientFrameSchema, frame) : toBinary(ClientFrameSchema, frame);
}

/** Decodes what a browser or `ws` hands to onmessage (ArrayBuffer / view / string). */
export function decodeServerFrame(data: unknown): ServerFrame {
  if (typeof data === "string") return fromJsonString(ServerFrameSchema, data, { ignoreUnknownFields: true });
  if (data instanceof ArrayBuffer) return fromBinary(ServerFrameSchema, new Uint8Array(data));
  if (ArrayBuffer.isView(data)) return fromBinary(ServerFrameSchema, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  throw new TypeError("realtime: unsupported WebSocket message payload");
}

/**
 * Cursors per resume frame. A client frame may be at most 64 KiB; a cursor (a
 * UUID key and a seq) takes up to ~61 bytes in protobuf JSON (a 19-digit seq as
 * a string), ~60 in binary, so 800 stay under 50 KB. More than that go out as
 * Hello{more: true} + ResumeCursors frames.
 */
export const CURSORS_PER_FRAME = 800;

/** The resume frames for a cursor set: one Hello when it fits, else Hello{more} + ResumeCursors chunks. */
export function resumeFrames(cursors: Record<string, bigint>, deviceId: string): ClientFrameInit[] {
  const entries = Object.entries(cursors);
  const chunks: Array<Record<string, bigint>> = [];
  for (let i = 0; i < entries.length; i += CURSORS_PER_FRAME) chunks.push(Object.fromEntries(entries.slice(i, i + CURSORS_PER_FRAME)));
  if (chunks.length <= 1) return [{ kind: { case: "hello", value: { cursors: chunks[0] ?? {}, deviceId } } }];
  return chunks.map((chunk, i): ClientFrameInit => {
    const more = i < chunks.length - 1;
    return i === 0
      ? { kind: { case: "hello", value: { cursors: chunk, deviceId, more } } }
      : { kind: { case: "resumeCursors", value: { cursors: chunk, more } } };
  });
}
