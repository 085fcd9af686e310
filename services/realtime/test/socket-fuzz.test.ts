/**
 * Property test of the socket frame decoder over real sockets (both
 * subprotocols): random bytes, random JSON and mutated valid frames. For every
 * frame the edge either answers (an Error frame, or the frame's own answer) and
 * keeps the socket, or closes it with a documented code; never an `internal`
 * error or 1011, never a crash: a bystander socket keeps working, and nothing
 * is written (no message committed, no conversation created).
 */
import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { create, fromBinary, fromJsonString, toBinary, toJsonString, type MessageInitShape } from "@bufbuild/protobuf";
import { count } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClientFrameSchema, ServerFrameSchema, type ServerFrame } from "@parley/gen/parley/realtime/v1/frames_pb";
import { waitFor } from "@parley/platform/testing";
import { conversations, messages } from "@parley/chat/store/schema";
import { NodeWebSocket } from "@parley/sdk/node";
import { AUTH_SUBPROTOCOL_PREFIX } from "@parley/sdk/realtime/codec";
import { defaultTuning } from "../src/index.js";
import { startEdgeHarness, synced, type Account, type EdgeHarness } from "./harness.js";

/** Close codes the README documents for a client's bad input (4429: too many refused frames). */
const DOCUMENTED_CLOSES = [1009, 4400, 4429];

type Protocol = "proto" | "json";

interface FuzzSocket {
  frames: ServerFrame[];
  closedWith: number | undefined;
  send(data: Uint8Array | string): void;
  close(): void;
}

function openSocket(url: string, token: string, protocol: Protocol): FuzzSocket {
  const ws = new NodeWebSocket(url, [protocol === "json" ? "parley.v1.json" : "parley.v1.proto", AUTH_SUBPROTOCOL_PREFIX + token]);
  ws.binaryType = "arraybuffer";
  const s: FuzzSocket = {
    frames: [],
    closedWith: undefined,
    send: (data) => ws.send(data),
    close: () => ws.close(),
  };
  ws.on("message", (data: ArrayBuffer | Buffer, isBinary: boolean) => {
    s.frames.push(isBinary ? fromBinary(ServerFrameSchema, new Uint8Array(data as ArrayBuffer)) : fromJsonString(ServerFrameSchema, data.toString()));
  });
  ws.on("close", (code: number) => (s.closedWith = code));
  ws.on("error", () => undefined);
  return s;
}

type ClientFrameInit = MessageInitShape<typeof ClientFrameSchema>;

function encode(init: ClientFrameInit, protocol: Protocol): Uint8Array | string {
  const frame = create(ClientFrameSchema, init);
  return protocol === "json" ? toJsonString(ClientFrameSchema, frame) : toBinary(ClientFrameSchema, frame);
}

const id = fc.oneof(fc.uuid(), fc.string({ maxLength: 40 }), fc.constant(randomUUID()));
const seq = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
const cursors = fc.dictionary(id, seq, { maxKeys: 20 });
const validFrame: fc.Arbitrary<ClientFrameInit> = fc.oneof(
  fc.record({ cursors, more: fc.boolean(), deviceId: fc.string({ maxLength: 20 }) }).map((value) => ({ kind: { case: "hello" as const, value } })),
  fc.record({ cursors, more: fc.boolean() }).map((value) => ({ kind: { case: "resumeCursors" as const, value } })),
  fc.array(fc.bigUint(2n ** 64n - 1n), { maxLength: 50 }).map((deliveryIds) => ({ kind: { case: "ack" as const, value: { deliveryIds } } })),
  id.map((conversationId) => ({ kind: { case: "typing" as const, value: { conversationId } } })),
  id.map((conversationId) => ({ kind: { case: "presenceSubscribe" as const, value: { conversationId } } })),
  fc.string({ maxLength: 200 }).map((accessToken) => ({ kind: { case: "reauthenticate" as const, value: { accessToken } } })),
);

/** Bytes: random, or a valid frame with bytes flipped, cut or inserted; rarely over the 64 KiB frame limit. */
function binaryInput(): fc.Arbitrary<Uint8Array> {
  const mutated = fc
    .tuple(validFrame, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom("flip", "cut", "insert")), { maxLength: 4 }))
    .map(([frame, edits]) => {
      let bytes = Array.from(encode(frame, "proto") as Uint8Array);
      for (const [at, value, op] of edits) {
        const i = bytes.length === 0 ? 0 : at % bytes.length;
        if (op === "flip") bytes[i] = value;
        else if (op === "cut") bytes = bytes.slice(0, i);
        else bytes.splice(i, 0, value);
      }
      return Uint8Array.from(bytes);
    });
  return fc.oneof(
    { arbitrary: fc.uint8Array({ maxLength: 512 }), weight: 4 },
    { arbitrary: mutated, weight: 6 },
    { arbitrary: fc.integer({ min: 64 * 1024 + 1, max: 100 * 1024 }).map((n) => new Uint8Array(n)), weight: 1 },
  );
}

/** Text: random JSON, valid frames as JSON with characters changed, or not JSON at all. */
function jsonInput(): fc.Arbitrary<string> {
  const mutated = fc.tuple(validFrame, fc.nat(), fc.string({ maxLength: 3 })).map(([frame, at, s]) => {
    const text = encode(frame, "json") as string;
    const i = at % (text.length + 1);
    return text.slice(0, i) + s + text.slice(i + 1);
  });
  return fc.oneof(fc.json({ maxDepth: 4 }), mutated, fc.string({ maxLength: 200 }), validFrame.map((f) => encode(f, "json") as string));
}

describe("socket frame fuzz", () => {
  let h: EdgeHarness;
  let mallory: Account;
  let bystander: ReturnType<EdgeHarness["connect"]>;
  beforeAll(async () => {
    h = await startEdgeHarness();
    // The ping after each fuzzed frame is this test's probe: its own budget must not refuse it.
    await h.startNode("edge-a", { frameRates: { ...defaultTuning.frameRates, ping: { perSecond: 10_000, burst: 10_000 } } });
    const alice = await h.account("alice");
    mallory = await h.account("mallory");
    bystander = h.connect(alice);
    await synced(bystander);
  }, 60_000);
  afterAll(async () => h?.close());

  async function writes(): Promise<number[]> {
    const db = h.deps.database.db;
    const [m] = await db.select({ n: count() }).from(messages);
    const [c] = await db.select({ n: count() }).from(conversations);
    return [m!.n, c!.n];
  }

  for (const protocol of ["proto", "json"] as const) {
    it(`${protocol}: every frame gets an answer or a documented close, never internal, and writes nothing`, async () => {
      const before = await writes();
      let socket: FuzzSocket | undefined;
      let nonce = 0n;
      const input: fc.Arbitrary<Uint8Array | string> = protocol === "proto" ? binaryInput() : jsonInput();
      await fc.assert(
        fc.asyncProperty(input, async (data) => {
          if (!socket || socket.closedWith !== undefined) {
            const s = openSocket(h.wsUrl(h.nodes[0]!), mallory.accessToken, protocol);
            await waitFor(() => s.frames.some((f) => f.kind.case === "welcome"));
            socket = s;
          }
          const s = socket;
          s.send(data);
          // A ping after it: its pong says the edge has dealt with the fuzzed frame and the socket lives.
          const n = ++nonce;
          s.send(encode({ kind: { case: "ping", value: { nonce: n } } }, protocol));
          await waitFor(() => s.closedWith !== undefined || s.frames.some((f) => f.kind.case === "pong" && f.kind.value.nonce === n), { timeoutMs: 10_000 });
          const errors = s.frames.flatMap((f) => (f.kind.case === "error" ? [f.kind.value.code] : []));
          expect(errors).not.toContain("internal");
          if (s.closedWith !== undefined) expect(DOCUMENTED_CLOSES).toContain(s.closedWith);
        }),
        { numRuns: 120, seed: protocol === "proto" ? 7 : 11, endOnFailure: true },
      );
      socket?.close();
      expect(await writes()).toEqual(before);
      // The node still serves others.
      const rt = h.connect(mallory);
      await synced(rt);
      rt.close();
      expect(bystander.client.state).toBe("open");
    }, 180_000);
  }
});
