/** The client's per-conversation cursor, reorder and dedupe logic on its own (fake timers, no sockets). */
import { create } from "@bufbuild/protobuf";
import { MessageSchema, type Message } from "@parley/gen/parley/chat/v1/message_pb";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { OrderedStreams, type GapInfo } from "../src/realtime/ordered-streams.js";

const HOLD_MS = 1_000;
const msg = (seq: number, conversationId = "c1", id = `${conversationId}-${seq}`): Message =>
  create(MessageSchema, { id, conversationId, seq: BigInt(seq), text: `#${seq}` });

describe("OrderedStreams", () => {
  let delivered: Message[];
  let gaps: GapInfo[];
  let fill: (info: GapInfo) => Promise<void>;
  let streams: OrderedStreams;
  const seqs = (conversationId = "c1") => delivered.filter((m) => m.conversationId === conversationId).map((m) => Number(m.seq));

  beforeEach(() => {
    vi.useFakeTimers();
    delivered = [];
    gaps = [];
    fill = async () => undefined;
    streams = new OrderedStreams({
      deliver: (m) => delivered.push(m),
      gap: (info) => {
        gaps.push(info);
        return fill(info);
      },
      holdMs: HOLD_MS,
    });
  });
  afterEach(() => {
    streams.close();
    vi.useRealTimers();
  });

  it("delivers in order and advances the cursor", () => {
    streams.seed("c1", 0n);
    for (const s of [1, 2, 3]) streams.accept(msg(s));
    expect(seqs()).toEqual([1, 2, 3]);
    expect(streams.cursors()).toEqual({ c1: 3n });
  });

  it("holds an early message until the hole fills, then releases in seq order", () => {
    streams.seed("c1", 0n);
    streams.accept(msg(3));
    streams.accept(msg(2));
    expect(delivered).toEqual([]);
    expect(streams.cursorOf("c1")).toBe(0n);
    streams.accept(msg(1));
    expect(seqs()).toEqual([1, 2, 3]);
    vi.advanceTimersByTime(HOLD_MS * 2);
    expect(gaps).toEqual([]);
  });

  it("counts each message held back for a hole once, and nothing for in-order arrivals", () => {
    streams.seed("c1", 0n);
    for (const s of [1, 2]) streams.accept(msg(s));
    expect(streams.reorderHolds).toBe(0);
    streams.accept(msg(4));
    streams.accept(msg(4, "c1", "c1-4-resent"));
    streams.accept(msg(5));
    expect(streams.reorderHolds).toBe(2);
    streams.accept(msg(3));
    expect(seqs()).toEqual([1, 2, 3, 4, 5]);
    expect(streams.reorderHolds).toBe(2);
  });

  it("drops duplicates by id and anything at or below the cursor", () => {
    streams.seed("c1", 5n);
    streams.accept(msg(4));
    streams.accept(msg(5));
    streams.accept(msg(6));
    streams.accept(msg(6));
    streams.accept(msg(8));
    streams.accept(msg(8));
    streams.accept(msg(7));
    expect(seqs()).toEqual([6, 7, 8]);
    // 4 and 5 at or below the cursor, the second 6 by id, the second 8 while held.
    expect(streams.duplicatesDropped).toBe(4);
  });

  it("counts nothing as a duplicate on a clean in-order or reordered stream", () => {
    streams.seed("c1", 0n);
    for (const s of [1, 2, 4, 3, 5]) streams.accept(msg(s));
    expect(seqs()).toEqual([1, 2, 3, 4, 5]);
    expect(streams.duplicatesDropped).toBe(0);
  });

  it("a message seen by id is not delivered again even under another seq (re-send after resume)", () => {
    streams.seed("c1", 0n);
    streams.accept(msg(1, "c1", "same"));
    streams.accept(msg(2, "c1", "same"));
    expect(seqs()).toEqual([1]);
  });

  it("keeps conversations independent", () => {
    streams.seed("c1", 0n);
    streams.seed("c2", 10n);
    streams.accept(msg(2, "c1"));
    streams.accept(msg(11, "c2"));
    expect(seqs("c2")).toEqual([11]);
    expect(seqs("c1")).toEqual([]);
    expect(streams.cursors()).toEqual({ c1: 0n, c2: 11n });
  });

  it("seed never moves an existing cursor", () => {
    streams.seed("c1", 3n);
    streams.seed("c1", 0n);
    streams.seed("c1", 9n);
    expect(streams.cursorOf("c1")).toBe(3n);
  });

  it("an unknown conversation starts at 0: a first message past 1 is a gap, not assumed", async () => {
    streams.accept(msg(5, "new"));
    expect(delivered).toEqual([]);
    await vi.advanceTimersByTimeAsync(HOLD_MS);
    expect(gaps).toEqual([{ conversationId: "new", fromSeq: 0n, toSeq: 4n }]);
    expect(seqs("new")).toEqual([5]);
  });

  it("reports a hole that does not fill within holdMs, once, then delivers what was held", async () => {
    streams.seed("c1", 1n);
    streams.accept(msg(4));
    streams.accept(msg(5));
    await vi.advanceTimersByTimeAsync(HOLD_MS - 1);
    expect(gaps).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(gaps).toEqual([{ conversationId: "c1", fromSeq: 1n, toSeq: 3n }]);
    expect(seqs()).toEqual([4, 5]);
    expect(streams.cursorOf("c1")).toBe(5n);
    await vi.advanceTimersByTimeAsync(HOLD_MS * 3);
    expect(gaps).toHaveLength(1);
  });

  it("messages the gap handler fills from history come out before the held ones, in order", async () => {
    streams.seed("c1", 0n);
    fill = async (info) => {
      for (let s = info.fromSeq + 1n; s <= info.toSeq; s++) streams.accept(msg(Number(s)));
    };
    streams.accept(msg(4));
    await vi.advanceTimersByTimeAsync(HOLD_MS);
    expect(seqs()).toEqual([1, 2, 3, 4]);
  });

  it("skipTo moves the cursor past a server Gap, drops held duplicates and releases the next ones", () => {
    streams.seed("c1", 0n);
    streams.accept(msg(3));
    streams.accept(msg(6));
    streams.skipTo("c1", 5n);
    expect(seqs()).toEqual([6]);
    expect(streams.cursorOf("c1")).toBe(6n);
    // Never backwards.
    streams.skipTo("c1", 2n);
    expect(streams.cursorOf("c1")).toBe(6n);
  });

  it("forget drops the cursor and any pending gap", async () => {
    streams.seed("c1", 0n);
    streams.accept(msg(3));
    streams.forget("c1");
    expect(streams.cursors()).toEqual({});
    await vi.advanceTimersByTimeAsync(HOLD_MS * 2);
    expect(gaps).toEqual([]);
  });

  it("remembers a bounded number of ids (oldest forgotten first)", () => {
    const small = new OrderedStreams({ deliver: (m) => delivered.push(m), gap: async () => undefined, holdMs: HOLD_MS, maxRememberedIds: 2 });
    small.seed("a", 0n);
    small.seed("b", 0n);
    small.accept(msg(1, "a", "x"));
    small.accept(msg(1, "b", "y"));
    small.accept(msg(2, "b", "z"));
    // "x" fell out of memory: the same id in another conversation is delivered; "z" is still remembered.
    small.accept(msg(2, "a", "x"));
    small.accept(msg(3, "b", "z"));
    expect(delivered.map((m) => `${m.conversationId}${m.seq}`)).toEqual(["a1", "b1", "b2", "a2"]);
    small.close();
  });
});
