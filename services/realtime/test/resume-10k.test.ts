/**
 * Item 13: a user with 10,000 conversations resumes. Their cursors do not fit
 * in one 64 KiB frame (a Hello over ~1,300 cursors was closed with 1009), so
 * the SDK sends Hello{more} + ResumeCursors chunks and the edge reads the heads
 * with GetConversationHeads in batches; the client gets what it missed and
 * SyncComplete.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "@parley/platform/testing";
import { conversations, members } from "@parley/chat/store/schema";
import { AUTH_SUBPROTOCOL_PREFIX, encodeClientFrame, resumeFrames } from "@parley/sdk/realtime/codec";
import { rawSocket } from "./raw-socket.js";
import { send, startEdgeHarness, synced, texts, type Account, type EdgeHarness } from "./harness.js";

const TOTAL = 10_000;

describe("resume with 10,000 conversations", () => {
  let h: EdgeHarness;
  let alice: Account;
  let bob: Account;
  let seeded: string[];
  beforeAll(async () => {
    h = await startEdgeHarness();
    await h.startNode("edge-a");
    [alice, bob] = [await h.account("alice"), await h.account("bob")];
    await h.befriend(alice, bob);
    // 9,997 groups of alice's straight into chat's tables (10,000 CreateGroup calls would take minutes).
    const now = new Date();
    seeded = Array.from({ length: TOTAL - 3 }, () => randomUUID());
    for (let i = 0; i < seeded.length; i += 1_000) {
      const ids = seeded.slice(i, i + 1_000);
      await h.deps.database.db.insert(conversations).values(
        ids.map((id) => ({ id, kind: "group" as const, title: "seeded", createdBy: alice.id, createdAt: now, lastActivityAt: now, memberCount: 1 })),
      );
      await h.deps.database.db.insert(members).values(ids.map((conversationId) => ({ conversationId, userId: alice.id, role: "admin" as const, joinedAt: now })));
    }
  }, 180_000);
  afterAll(async () => h?.close());

  it("a client holding 10,000 cursors gets the messages it missed, then synced", async () => {
    const live = [await h.group(bob, [alice]), await h.group(bob, [alice]), await h.direct(bob, alice)];
    for (const c of live) await send(bob, c.id, `${c.id} seen`);
    const cursors: Record<string, bigint> = Object.fromEntries(seeded.map((id) => [id, 0n]));
    for (const c of live) cursors[c.id] = 1n;
    expect(Object.keys(cursors)).toHaveLength(TOTAL);
    // Missed while offline: two in the first, one in the last, none in the second.
    await send(bob, live[0]!.id, "missed 1");
    await send(bob, live[0]!.id, "missed 2");
    await send(bob, live[2]!.id, "missed 3");

    for (const protocol of ["proto", "json"] as const) {
      const rt = h.connect(alice, { cursors, protocol });
      await synced(rt, 1, 60_000);
      expect(texts(rt.messages).sort()).toEqual(["missed 1", "missed 2", "missed 3"]);
      expect(rt.errors).toEqual([]);
      expect(rt.gaps).toEqual([]);
      rt.close();
    }
  }, 180_000);

  it("GetConversationHeads answers members only, at most 1,000 ids per call", async () => {
    const mine = await h.group(bob, [alice]);
    const [carol] = [await h.account("carol")];
    await h.befriend(bob, carol);
    const notMine = await h.group(bob, [carol]);
    await send(bob, mine.id, "one");
    const res = await alice.conversations.getConversationHeads({ conversationIds: [mine.id, notMine.id, randomUUID(), seeded[0]!] });
    expect(res.heads.map((x) => [x.conversationId, x.lastSeq]).sort()).toEqual([[mine.id, 1n], [seeded[0]!, 0n]].sort());
    await expect(alice.conversations.getConversationHeads({ conversationIds: seeded.slice(0, 1_001) })).rejects.toMatchObject({
      rawMessage: "conversation_ids must have at most 1000 entries",
    });
  });

  it("the SDK's resume frames stay under the 64 KiB frame limit in both encodings, even with the largest seqs", () => {
    const cursors = Object.fromEntries(Array.from({ length: TOTAL }, () => [randomUUID(), 2n ** 63n - 1n]));
    for (const protocol of ["proto", "json"] as const) {
      const frames = resumeFrames(cursors, "device-1234567890").map((f) => encodeClientFrame(f, protocol));
      expect(frames.length).toBeGreaterThan(1);
      for (const f of frames) expect(typeof f === "string" ? Buffer.byteLength(f) : f.byteLength).toBeLessThan(64 * 1024);
    }
  });

  it("one Hello frame with 1,600 cursors is still refused as too big (1009): the SDK never sends one", async () => {
    const ws = rawSocket(h.wsUrl(h.nodes[0]!), ["parley.v1.proto", AUTH_SUBPROTOCOL_PREFIX + alice.accessToken]);
    await waitFor(() => ws.frames.some((f) => f.kind.case === "welcome"));
    ws.send({ kind: { case: "hello", value: { cursors: Object.fromEntries(seeded.slice(0, 1_600).map((id) => [id, 0n])) } } });
    expect((await ws.closed).code).toBe(1009);
  });
});
