import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "@parley/platform/testing";
import { blockedByKey } from "../src/store/blocks.js";
import { startEdgeHarness, synced, type EdgeHarness } from "./harness.js";

describe("typing and presence", () => {
  let h: EdgeHarness;
  beforeAll(async () => {
    h = await startEdgeHarness();
    await h.startNode("edge-a");
  }, 60_000);
  afterAll(async () => h?.close());

  it("typing reaches co-members but not a member the typer blocked, nor the typer", async () => {
    const [a, b, c] = [await h.account("a"), await h.account("b"), await h.account("c")];
    await h.befriend(a, b);
    await h.befriend(a, c);
    const group = await h.group(a, [b, c]);
    await a.friends.blockUser({ userId: c.id });
    // Typing reads blocks from the edge's projection: wait until the block event reached it.
    const key = blockedByKey(a.id);
    await waitFor(async () => (await h.deps.ephemeral.setMembersMany([key])).get(key)?.includes(c.id) === true);
    const [ra, rb, rc] = [h.connect(a), h.connect(b), h.connect(c)];
    await Promise.all([synced(ra), synced(rb), synced(rc)]);
    expect(ra.client.sendTyping(group.id)).toBe(true);
    await waitFor(() => rb.typing.length === 1);
    expect(rb.typing[0]).toMatchObject({ conversationId: group.id, userId: a.id });
    // A second signal inside the rate window is dropped.
    ra.client.sendTyping(group.id);
    await new Promise((r) => setTimeout(r, 300));
    expect(rb.typing).toHaveLength(1);
    expect(rc.typing).toEqual([]);
    expect(ra.typing).toEqual([]);
  });

  it("typing in a conversation one is not a member of is an error", async () => {
    const [a, b, eve] = [await h.account("a"), await h.account("b"), await h.account("eve")];
    await h.befriend(a, b);
    const dm = await h.direct(a, b);
    const re = h.connect(eve);
    await synced(re);
    re.client.sendTyping(dm.id);
    await waitFor(() => re.errors.length === 1);
    expect(re.errors[0]!.code).toMatch(/permission_denied|not_found/);
  });

  it("friends see a user come online and go offline", async () => {
    const [a, b] = [await h.account("a"), await h.account("b")];
    await h.befriend(a, b);
    const rb = h.connect(b);
    await synced(rb);
    const ra = h.connect(a);
    await synced(ra);
    await waitFor(() => rb.presence.some((p) => p.userId === a.id && p.online));
    // Only what comes after "online" counts: b's own snapshot at connect said offline.
    const seenOnlineAt = rb.presence.findIndex((p) => p.userId === a.id && p.online);
    ra.close();
    await waitFor(() => rb.presence.slice(seenOnlineAt + 1).some((p) => p.userId === a.id && !p.online));
  });

  it("a socket that connects later is told who is online now, and when the others were last seen", async () => {
    const [a, b, c] = [await h.account("a"), await h.account("b"), await h.account("c")];
    await h.befriend(a, b);
    await h.befriend(a, c);
    const rb = h.connect(b);
    await synced(rb);
    const rc = h.connect(c);
    await synced(rc);
    rc.close();
    const ra = h.connect(a);
    await waitFor(() => ra.presence.some((p) => p.userId === b.id && p.online));
    await waitFor(() => ra.presence.some((p) => p.userId === c.id && !p.online));
    const cPresence = ra.presence.find((p) => p.userId === c.id)!;
    expect(cPresence.lastSeenAt).toBeDefined();
    // Not friends with each other: b and c learn nothing of one another.
    expect(rb.presence.some((p) => p.userId === c.id)).toBe(false);
  });

  it("friend requests reach the addressee live", async () => {
    const [a, b] = [await h.account("a"), await h.account("b")];
    const rb = h.connect(b);
    await synced(rb);
    await a.friends.sendFriendRequest({ target: { case: "userId", value: b.id } });
    await waitFor(() => rb.friends.length === 1);
    expect(rb.friends[0]!.userId).toBe(a.id);
  });
});
