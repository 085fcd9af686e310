/**
 * Subscribe-on-view presence: a socket viewing a conversation sees its
 * members' presence (snapshot + live changes) even when they are not friends,
 * never a member who blocked the viewer, and only for the conversation it
 * currently views.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "@parley/platform/testing";
import { blockedByKey } from "../src/store/blocks.js";
import { startEdgeHarness, synced, type Account, type EdgeHarness, type Recorder } from "./harness.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const saw = (r: Recorder, userId: string, online: boolean, from = 0) =>
  r.presence.slice(from).some((p) => p.userId === userId && p.online === online);

describe("presence subscribe", () => {
  let h: EdgeHarness;
  beforeAll(async () => {
    h = await startEdgeHarness();
    await h.startNode("edge-a");
    await h.startNode("edge-b");
  }, 60_000);
  afterAll(async () => h?.close());

  /** `owner` befriends each member (groups are created from friends); the members are not friends of one another. */
  async function groupOf(owner: Account, members: Account[]) {
    for (const m of members) await h.befriend(owner, m);
    return h.group(owner, members);
  }

  it("a co-member who is not a friend is seen coming online and going offline, with last seen, once subscribed", async () => {
    const [owner, a, b] = [await h.account("own"), await h.account("a"), await h.account("b")];
    const group = await groupOf(owner, [a, b]);
    const rb = h.connect(b);
    await synced(rb);
    rb.client.subscribePresence(group.id);
    // Snapshot: a is offline, owner too.
    await waitFor(() => saw(rb, a.id, false) && saw(rb, owner.id, false));
    const afterSnapshot = rb.presence.length;
    // The owner is a's friend and views the group too: told once (by the router), not twice.
    const rOwner = h.connect(owner);
    await synced(rOwner);
    rOwner.client.subscribePresence(group.id);
    // Two snapshots mention a: the friends' one at connect and the subscription's.
    await waitFor(() => rOwner.presence.filter((p) => p.userId === a.id).length === 2);
    const ownerFrom = rOwner.presence.length;
    // a on the other node: every node sees every change.
    const ra = h.connect(a, { node: h.nodes[1] });
    await synced(ra);
    await waitFor(() => saw(rb, a.id, true, afterSnapshot));
    const onlineAt = rb.presence.length;
    ra.close();
    await waitFor(() => saw(rb, a.id, false, onlineAt));
    const offline = rb.presence.slice(onlineAt).find((p) => p.userId === a.id && !p.online)!;
    expect(offline.lastSeenAt).toBeDefined();
    expect(Number(offline.lastSeenAt!.seconds) * 1000).toBeGreaterThan(Date.now() - 60_000);
    await waitFor(() => saw(rOwner, a.id, false, ownerFrom));
    expect(rOwner.presence.slice(ownerFrom).filter((p) => p.userId === a.id).map((p) => p.online)).toEqual([true, false]);
    // The viewer is never told about itself.
    expect(rb.presence.some((p) => p.userId === b.id)).toBe(false);
    expect(rb.errors).toEqual([]);
  });

  it("a member who blocked the viewer is shown neither in the snapshot nor live; unblocking restores it", async () => {
    const [owner, a, b] = [await h.account("own"), await h.account("a"), await h.account("b")];
    const group = await groupOf(owner, [a, b]);
    await a.friends.blockUser({ userId: b.id });
    const rOwner = h.connect(owner);
    await synced(rOwner);
    // a's connect rebuilds a's block set before announcing a online; its friend (owner) seeing
    // "online" means the projection is current.
    const ra = h.connect(a);
    await waitFor(() => saw(rOwner, a.id, true));
    const rb = h.connect(b);
    await synced(rb);
    rb.client.subscribePresence(group.id);
    await waitFor(() => saw(rb, owner.id, true));
    ra.close();
    await waitFor(() => saw(rOwner, a.id, false));
    // A later change of someone else, seen by b: the presence watch handles changes in order,
    // so a's "offline" before it was already filtered, not merely late.
    rOwner.close();
    await waitFor(() => saw(rb, owner.id, false));
    expect(rb.presence.some((p) => p.userId === a.id)).toBe(false);

    await a.friends.unblockUser({ userId: b.id });
    // Live again: a's next connection is shown.
    const ra2 = h.connect(a);
    await waitFor(() => saw(rb, a.id, true), { timeoutMs: 10_000 });
    // And in a fresh snapshot.
    rb.client.subscribePresence("");
    const before = rb.presence.length;
    rb.client.subscribePresence(group.id);
    await waitFor(() => saw(rb, a.id, true, before));
    ra2.close();
  });

  it("blocking after subscribing stops live changes from the blocker", async () => {
    const [owner, a, b] = [await h.account("own"), await h.account("a"), await h.account("b")];
    const group = await groupOf(owner, [a, b]);
    const rOwner = h.connect(owner);
    await synced(rOwner);
    const rb = h.connect(b);
    await synced(rb);
    rb.client.subscribePresence(group.id);
    await waitFor(() => saw(rb, a.id, false) && saw(rb, owner.id, true));
    await a.friends.blockUser({ userId: b.id });
    // a's own connection rebuilds the projection from identity, so no wait on the event is needed.
    const from = rb.presence.length;
    const ra = h.connect(a);
    await waitFor(() => saw(rOwner, a.id, true));
    ra.close();
    await waitFor(() => saw(rOwner, a.id, false));
    rOwner.close();
    await waitFor(() => saw(rb, owner.id, false, from));
    expect(rb.presence.slice(from).some((p) => p.userId === a.id)).toBe(false);
  });

  it("a block made while the blocker is online reaches the projection through identity's event", async () => {
    const [owner, a, b] = [await h.account("own"), await h.account("a"), await h.account("b")];
    const group = await groupOf(owner, [a, b]);
    const rOwner = h.connect(owner);
    await synced(rOwner);
    const ra = h.connect(a);
    await waitFor(() => saw(rOwner, a.id, true));
    const rb = h.connect(b);
    await synced(rb);
    rb.client.subscribePresence(group.id);
    await waitFor(() => saw(rb, a.id, true));
    await a.friends.blockUser({ userId: b.id });
    // No reconnect of a heals anything here: only the block event can fill the projection.
    const key = blockedByKey(a.id);
    await waitFor(async () => (await h.deps.ephemeral.setMembersMany([key])).get(key)?.includes(b.id) === true);
    const from = rb.presence.length;
    ra.close();
    await waitFor(() => saw(rOwner, a.id, false));
    rOwner.close();
    await waitFor(() => saw(rb, owner.id, false, from));
    expect(rb.presence.slice(from).some((p) => p.userId === a.id)).toBe(false);
    // And the unblock event empties it again.
    await a.friends.unblockUser({ userId: b.id });
    await waitFor(async () => !(await h.deps.ephemeral.setMembersMany([key])).has(key));
  });

  it("a friend blocked while both are online is not told when the blocker goes offline", async () => {
    const [a, b, c] = [await h.account("a"), await h.account("b"), await h.account("c")];
    await h.befriend(a, b);
    await h.befriend(c, b);
    const rb = h.connect(b);
    await synced(rb);
    const ra = h.connect(a);
    await waitFor(() => saw(rb, a.id, true));
    await a.friends.blockUser({ userId: b.id });
    const key = blockedByKey(a.id);
    await waitFor(async () => (await h.deps.ephemeral.setMembersMany([key])).get(key)?.includes(b.id) === true);
    const from = rb.presence.length;
    ra.close();
    // c's change comes after a's on the same subject and router: seeing it means a's was handled.
    const rc = h.connect(c);
    await waitFor(() => saw(rb, c.id, true, from));
    expect(rb.presence.slice(from).some((p) => p.userId === a.id)).toBe(false);
    rc.close();
  });

  it("subscribing to a conversation one is not a member of is an error naming it, and shows no presence", async () => {
    const [a, b, eve] = [await h.account("a"), await h.account("b"), await h.account("eve")];
    await h.befriend(a, b);
    const dm = await h.direct(a, b);
    const ra = h.connect(a);
    await synced(ra);
    const re = h.connect(eve);
    await synced(re);
    re.client.subscribePresence(dm.id);
    await waitFor(() => re.errors.length === 1);
    expect(re.errors[0]!.code).toMatch(/permission_denied|not_found/);
    expect(re.errors[0]!.message).toContain(dm.id);
    ra.close();
    const rb = h.connect(b);
    await waitFor(() => saw(rb, a.id, false));
    await sleep(300);
    expect(re.presence).toEqual([]);
  });

  it("switching to another conversation stops changes from the first", async () => {
    const [owner, a, d, b] = [await h.account("own"), await h.account("a"), await h.account("d"), await h.account("b")];
    const first = await groupOf(owner, [a, b]);
    await h.befriend(owner, d);
    const second = await h.group(owner, [d, b]);
    const rOwner = h.connect(owner);
    await synced(rOwner);
    const rb = h.connect(b);
    await synced(rb);
    rb.client.subscribePresence(first.id);
    await waitFor(() => saw(rb, a.id, false));
    rb.client.subscribePresence(second.id);
    await waitFor(() => saw(rb, d.id, false));
    const from = rb.presence.length;
    const ra = h.connect(a);
    await waitFor(() => saw(rOwner, a.id, true));
    // d's change comes after a's: seeing it means a's was handled (and dropped).
    const rd = h.connect(d);
    await waitFor(() => saw(rb, d.id, true, from));
    expect(rb.presence.slice(from).some((p) => p.userId === a.id)).toBe(false);
    ra.close();
    rd.close();
  });

  it("the subscription survives a reconnect: the client subscribes again on the new socket", async () => {
    const [owner, a, b] = [await h.account("own"), await h.account("a"), await h.account("b")];
    const group = await groupOf(owner, [a, b]);
    const doomed = await h.startNode("edge-doomed");
    const survivor = h.nodes[0]!;
    const rb = h.connect(b, { url: [h.wsUrl(doomed), h.wsUrl(survivor)] });
    await synced(rb);
    rb.client.subscribePresence(group.id);
    await waitFor(() => saw(rb, a.id, false));
    const beforeDrain = rb.presence.length;
    await doomed.drain();
    await synced(rb, 2);
    expect(rb.welcomes).toEqual(["edge-doomed", "edge-a"]);
    // The new socket's snapshot: b has no friends, so only a re-sent subscription explains it.
    await waitFor(() => saw(rb, a.id, false, beforeDrain));
    const from = rb.presence.length;
    const ra = h.connect(a, { node: h.nodes[1] });
    await waitFor(() => saw(rb, a.id, true, from));
    ra.close();
  });
});
