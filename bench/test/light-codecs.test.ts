/**
 * The light clients decode only a few fields by hand-walking the wire format; these checks hold
 * them to the real encoders (protobuf-es for Parley's frames, JSON for Socket.IO's packets).
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { ClientFrameSchema, ServerFrameSchema } from "@parley/gen/parley/realtime/v1/frames_pb";
import { describe, expect, it } from "vitest";
import { decodePayload, encodePayload } from "../src/lib/payload.js";
import { ackFrame, decodeFrame } from "../src/light/parley.js";
import { cutMsgBody } from "../src/light/socketio.js";

describe("light Parley codec", () => {
  it("reads delivery_id and the message text and nothing else", () => {
    const text = encodePayload({ k: "f0-12", t: 1732790000123.456, f: "sender" });
    const frame = create(ServerFrameSchema, {
      deliveryId: 123456789012n,
      kind: { case: "message", value: { id: "m1", conversationId: "c1", seq: 42n, senderId: "u1", text, clientMessageId: "x", createdAt: { seconds: 1n, nanos: 2 } } },
    });
    const d = decodeFrame(toBinary(ServerFrameSchema, frame));
    expect(d).toEqual({ deliveryId: 123456789012n, kind: "message", text });
    expect(decodePayload(d.text ?? "")).toEqual({ k: "f0-12", t: 1732790000123.456, f: "sender" });
  });

  it("recognises welcome and error frames", () => {
    expect(decodeFrame(toBinary(ServerFrameSchema, create(ServerFrameSchema, { kind: { case: "welcome", value: { userId: "u" } } }))).kind).toBe("welcome");
    const err = decodeFrame(toBinary(ServerFrameSchema, create(ServerFrameSchema, { kind: { case: "error", value: { code: "x", message: "nope" } } })));
    expect(err).toEqual({ deliveryId: 0n, kind: "error", text: "nope" });
  });

  it("batched ack frames decode as one Ack with every id", () => {
    const ids = [1n, 2n, 3n, 300n, 2n ** 40n];
    const f = fromBinary(ClientFrameSchema, ackFrame(ids));
    expect(f.kind.case).toBe("ack");
    expect(f.kind.case === "ack" ? f.kind.value.deliveryIds : []).toEqual(ids);
  });
});

describe("light Socket.IO codec", () => {
  it("cuts the body out of a msg event as socket.io encodes it", () => {
    const body = encodePayload({ k: "d0w1-7", t: 1.5, f: "u12" });
    const packet = `42${JSON.stringify(["msg", { id: "123-4", room: "g-1", body }])}`;
    expect(cutMsgBody(packet)).toBe(body);
    expect(cutMsgBody(`42${JSON.stringify(["other", { body }])}`)).toBeUndefined();
  });

  it("payloads refuse characters that would need escaping", () => {
    expect(() => encodePayload({ k: 'a"b', t: 1, f: "x" })).toThrow();
  });
});
