import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "@parley/platform/testing";
import { send, seqs, startEdgeHarness, synced, type EdgeHarness } from "./harness.js";

describe("two edge nodes", () => {
  let h: EdgeHarness;
  beforeAll(async () => {
    h = await startEdgeHarness();
    await h.startNode("edge-a");
    await h.startNode("edge-b");
  }, 60_000);
  afterAll(async () => h?.close());

  it("routes to whichever node holds the recipient", async () => {
    const [alice, bob] = [await h.account("alice"), await h.account("bob")];
    await h.befriend(alice, bob);
    const dm = await h.direct(alice, bob);
    const onA = h.connect(bob, { node: h.nodes[0] });
    const onB = h.connect(bob, { node: h.nodes[1] });
    await Promise.all([synced(onA), synced(onB)]);
    await send(alice, dm.id, "both nodes");
    await waitFor(() => onA.messages.length === 1 && onB.messages.length === 1);
  });

  it("a group spread over both nodes gets concurrent sends in seq order, with no reorder hold", async () => {
    const owner = await h.account("owner");
    const members = await Promise.all(Array.from({ length: 5 }, () => h.account("member")));
    for (const m of members) await h.befriend(owner, m);
    const group = await h.group(owner, members);
    const everyone = [owner, ...members];
    const sockets = everyone.map((account, i) => h.connect(account, { node: h.nodes[i % 2], cursors: { [group.id]: 0n } }));
    await Promise.all(sockets.map((r) => synced(r)));

    const perSender = 20;
    const senders = everyone.slice(0, 4);
    await Promise.all(senders.map((from, s) => Promise.all(Array.from({ length: perSender }, (_, i) => send(from, group.id, `s${s}-${i}`)))));
    const total = senders.length * perSender;
    await waitFor(() => sockets.every((r) => r.messages.length >= total), { timeoutMs: 30_000 });
    for (const r of sockets) {
      expect(seqs(r.messages)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
      // Seq order on arrival, not only after the client's reorder buffer.
      expect(r.client.stats().reorderHolds).toBe(0);
      expect(r.gaps).toEqual([]);
    }
  }, 60_000);

  it("clients of a drained node reconnect to the other one and miss nothing", async () => {
    const [alice, bob] = [await h.account("alice"), await h.account("bob")];
    await h.befriend(alice, bob);
    const dm = await h.direct(alice, bob);
    const [a, b] = h.nodes as [typeof h.nodes[0], typeof h.nodes[0]];
    const bobRt = h.connect(bob, { url: [h.wsUrl(a), h.wsUrl(b)], cursors: { [dm.id]: 0n } });
    await synced(bobRt);
    expect(bobRt.welcomes).toEqual(["edge-a"]);

    const total = 120;
    const sending = (async () => {
      for (let i = 1; i <= total; i++) {
        await send(alice, dm.id, `m${i}`);
        if (i % 10 === 0) await new Promise((r) => setTimeout(r, 10));
      }
    })();
    await waitFor(() => bobRt.messages.length >= 30, { timeoutMs: 20_000 });
    await a.drain();
    await sending;
    await waitFor(() => bobRt.messages.length >= total, { timeoutMs: 20_000 });
    await new Promise((r) => setTimeout(r, 300));
    expect(bobRt.welcomes).toEqual(["edge-a", "edge-b"]);
    expect(seqs(bobRt.messages)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(a.socketCount()).toBe(0);
  }, 60_000);
});
