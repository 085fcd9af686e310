import { create, fromBinary, fromJsonString, toBinary, toJsonString, type MessageInitShape } from "@bufbuild/protobuf";
import { ClientFrameSchema, ServerFrameSchema, type ServerFrame } from "@parley/gen/parley/realtime/v1/frames_pb";

export type RealtimeProtocol = "proto" | "json";

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
