import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "@parley/platform/testing";
import { AUTH_SUBPROTOCOL_PREFIX } from "@parley/sdk/realtime/codec";
import { rawSocket } from "./raw-socket.js";
import { send, seqs, startEdgeHarness, synced, texts, type EdgeHarness } from "./harness.js";

describe("resume and at-least-once", () => {
  let h: EdgeHarness;
  beforeAll(async () => {
    h = await startEdgeHarness({ tuning: { gapLimit: 20, catchUpPageSize: 7 } });
    await h.startNode("edge-a");
  }, 60_000);
  afterAll(async () => h?.close());

  it("a reopened client gets what it missed, in order, before live messages", async () => {
    const [alice, bob] = [await h.account("alice"), await h.account("bob")];
    await h.befriend(alice, bob);
    const dm = await h.direct(alice, bob);
    const first = h.connect(bob, { cursors: { [dm.id]: 0n } });
    await synced(first);
    for (let i = 1; i <= 3; i++) await send(alice, dm.id, `live${i}`);
    await waitFor(() => first.messages.length === 3);
    const cursors = first.client.cursors();
    first.close();

    for (let i = 1; i <= 15; i++) await send(alice, dm.id, `missed${i}`);
    const again = h.connect(bob, { cursors });
    // A live message racing the catch-up must come after it.
    const racing = send(alice, dm.id, "racing");
    await racing;
    await waitFor(() => again.messages.length === 16);
    expect(texts(again.messages)).toEqual([...Array.from({ length: 15 }, (_, i) => `missed${i + 1}`), "racing"]);
    expect(seqs(again.messages)).toEqual(Array.from({ length: 16 }, (_, i) => i + 4));
  });

  it("sends a Gap instead of streaming when too much is missing", async () => {
    const [alice, bob] = [await h.account("alice"), await h.account("bob")];
    await h.befriend(alice, bob);
    const dm = await h.direct(alice, bob);
    for (let i = 1; i <= 30; i++) await send(alice, dm.id, `old${i}`);
    const bobRt = h.connect(bob, { cursors: { [dm.id]: 2n } });
    await synced(bobRt);
    expect(bobRt.gaps).toEqual([{ conversationId: dm.id, fromSeq: 2n, toSeq: 30n }]);
    expect(bobRt.messages).toEqual([]);
    await send(alice, dm.id, "after gap");
    await waitFor(() => bobRt.messages.length === 1);
    expect(bobRt.messages[0]!.seq).toBe(31n);
  });

  it("a client with a history client fills the gap itself", async () => {
    const [alice, bob] = [await h.account("alice"), await h.account("bob")];
    await h.befriend(alice, bob);
    const dm = await h.direct(alice, bob);
    for (let i = 1; i <= 25; i++) await send(alice, dm.id, `old${i}`);
    const bobRt = h.connect(bob, { cursors: { [dm.id]: 0n }, messages: bob.messages });
    await waitFor(() => bobRt.messages.length === 25);
    expect(seqs(bobRt.messages)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
  });

  it("re-sends a frame the socket did not ack, with the same delivery id", async () => {
    const [alice, bob] = [await h.account("alice"), await h.account("bob")];
    await h.befriend(alice, bob);
    const dm = await h.direct(alice, bob);
    const ws = rawSocket(h.wsUrl(h.nodes[0]!), ["parley.v1.proto", AUTH_SUBPROTOCOL_PREFIX + bob.accessToken]);
    await waitFor(() => ws.frames.some((f) => f.kind.case === "welcome"));
    ws.send({ kind: { case: "hello", value: { cursors: {} } } });
    await waitFor(() => ws.frames.some((f) => f.kind.case === "syncComplete"));
    const sent = await send(alice, dm.id, "ack me");
    const copies = () => ws.frames.filter((f) => f.kind.case === "message" && f.kind.value.id === sent.id);
    await waitFor(() => copies().length >= 2, { timeoutMs: 3_000 });
    expect(new Set(copies().map((f) => f.deliveryId)).size).toBe(1);
    ws.send({ kind: { case: "ack", value: { deliveryIds: [copies()[0]!.deliveryId] } } });
    await new Promise((r) => setTimeout(r, 100));
    const count = copies().length;
    await new Promise((r) => setTimeout(r, 1_000));
    expect(copies().length).toBe(count);
    ws.close();
  });

  it("closes a socket that never acks with 4008 after its re-sends, and its client resumes with nothing lost", async () => {
    const [alice, bob] = [await h.account("alice"), await h.account("bob")];
    await h.befriend(alice, bob);
    const dm = await h.direct(alice, bob);
    const ws = rawSocket(h.wsUrl(h.nodes[0]!), ["parley.v1.proto", AUTH_SUBPROTOCOL_PREFIX + bob.accessToken]);
    await waitFor(() => ws.frames.some((f) => f.kind.case === "welcome"));
    ws.send({ kind: { case: "hello", value: { cursors: {} } } });
    await send(alice, dm.id, "never acked");
    const closed = await ws.closed;
    expect(closed).toEqual({ code: 4008, reason: "slow consumer; resume to catch up" });
    const bobRt = h.connect(bob, { cursors: { [dm.id]: 0n } });
    await waitFor(() => bobRt.messages.length === 1);
    expect(bobRt.messages[0]!.text).toBe("never acked");
  });
});
