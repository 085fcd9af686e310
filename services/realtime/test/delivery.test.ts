import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "@parley/platform/testing";
import { send, seqs, startEdgeHarness, synced, texts, type EdgeHarness } from "./harness.js";

describe("live delivery", () => {
  let h: EdgeHarness;
  beforeAll(async () => {
    h = await startEdgeHarness();
    await h.startNode("edge-a");
  }, 60_000);
  afterAll(async () => h?.close());

  it("delivers Alice's message to Bob live, 1-1", async () => {
    const [alice, bob] = [await h.account("alice"), await h.account("bob")];
    await h.befriend(alice, bob);
    const dm = await h.direct(alice, bob);
    const bobRt = h.connect(bob);
    await synced(bobRt);
    const sent = await send(alice, dm.id, "hi bob");
    await waitFor(() => bobRt.messages.length === 1);
    expect(bobRt.messages[0]!.id).toBe(sent.id);
    expect(bobRt.messages[0]!.text).toBe("hi bob");
  });

  it("delivers to every other member of a group, and to every socket of a user", async () => {
    const [a, b, c] = [await h.account("a"), await h.account("b"), await h.account("c")];
    await h.befriend(a, b);
    await h.befriend(a, c);
    const group = await h.group(a, [b, c]);
    const b1 = h.connect(b);
    const b2 = h.connect(b);
    const c1 = h.connect(c);
    await Promise.all([synced(b1), synced(b2), synced(c1)]);
    await send(a, group.id, "hello group");
    await waitFor(() => b1.messages.length === 1 && b2.messages.length === 1 && c1.messages.length === 1);
    expect(texts([...b1.messages, ...b2.messages, ...c1.messages])).toEqual(["hello group", "hello group", "hello group"]);
  });

  it("delivers 1,000 concurrently sent messages in seq order, none lost, none duplicated", async () => {
    const [alice, bob] = [await h.account("alice"), await h.account("bob")];
    await h.befriend(alice, bob);
    const dm = await h.direct(alice, bob);
    const bobRt = h.connect(bob, { cursors: { [dm.id]: 0n } });
    await synced(bobRt);
    await Promise.all(Array.from({ length: 1_000 }, (_, i) => send(alice, dm.id, `m${i}`)));
    await waitFor(() => bobRt.messages.length >= 1_000, { timeoutMs: 60_000 });
    await new Promise((r) => setTimeout(r, 300));
    expect(bobRt.messages).toHaveLength(1_000);
    expect(seqs(bobRt.messages)).toEqual(Array.from({ length: 1_000 }, (_, i) => i + 1));
    expect(new Set(bobRt.messages.map((m) => m.id)).size).toBe(1_000);
    expect(bobRt.gaps).toEqual([]);
  }, 120_000);

  it("gives non-members no events and an Error for their cursors", async () => {
    const [alice, bob, eve] = [await h.account("alice"), await h.account("bob"), await h.account("eve")];
    await h.befriend(alice, bob);
    const dm = await h.direct(alice, bob);
    await send(alice, dm.id, "before");
    const eveRt = h.connect(eve, { cursors: { [dm.id]: 0n } });
    await synced(eveRt);
    expect(eveRt.errors.map((e) => e.code)).toEqual([expect.stringMatching(/permission_denied|not_found/)]);
    expect(eveRt.errors[0]!.message).toContain(dm.id);
    const bobRt = h.connect(bob);
    await synced(bobRt);
    await send(alice, dm.id, "secret");
    await waitFor(() => bobRt.messages.some((m) => m.text === "secret"));
    await new Promise((r) => setTimeout(r, 200));
    expect(eveRt.messages).toEqual([]);
  });
});
