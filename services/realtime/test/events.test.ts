/**
 * Every event the router maps, end to end: an RPC on identity or chat → outbox
 * → bus → router → edge → SDK RealtimeClient over a real WebSocket.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConversationChange, FriendEventKind } from "@parley/gen/parley/realtime/v1/frames_pb";
import { waitFor } from "@parley/platform/testing";
import { send, startEdgeHarness, synced, texts, type EdgeHarness, type Recorder } from "./harness.js";

const changesFor = (r: Recorder, conversationId: string) =>
  r.conversations.filter((c) => c.conversation?.id === conversationId).map((c) => c.change);

describe("message edits, deletes and read receipts", () => {
  let h: EdgeHarness;
  beforeAll(async () => {
    h = await startEdgeHarness();
    await h.startNode("edge-a");
  }, 60_000);
  afterAll(async () => h?.close());

  it("an edit and a delete reach the other member as message_edited / message_deleted", async () => {
    const [alice, bob] = [await h.account("alice"), await h.account("bob")];
    await h.befriend(alice, bob);
    const dm = await h.direct(alice, bob);
    const rb = h.connect(bob);
    await synced(rb);
    const sent = await send(alice, dm.id, "typo");
    await waitFor(() => rb.messages.length === 1);
    await alice.messages.editMessage({ messageId: sent.id, text: "fixed" });
    await waitFor(() => rb.edited.length === 1);
    expect(rb.edited[0]).toMatchObject({ id: sent.id, seq: sent.seq, text: "fixed" });
    await alice.messages.deleteMessage({ messageId: sent.id });
    await waitFor(() => rb.deleted.length === 1);
    expect(rb.deleted[0]).toMatchObject({ id: sent.id, deleted: true, text: "" });
    // Neither is a new message: the stream still holds the one.
    expect(texts(rb.messages)).toEqual(["typo"]);
  });

  it("MarkRead reaches every co-member as a read receipt, over JSON too", async () => {
    const [a, b, c] = [await h.account("a"), await h.account("b"), await h.account("c")];
    await h.befriend(a, b);
    await h.befriend(a, c);
    const group = await h.group(a, [b, c]);
    const [ra, rc] = [h.connect(a), h.connect(c, { protocol: "json" })];
    await Promise.all([synced(ra), synced(rc)]);
    await send(a, group.id, "one");
    const two = await send(a, group.id, "two");
    await b.messages.markRead({ conversationId: group.id, seq: two.seq });
    const expected = { conversationId: group.id, userId: b.id, readSeq: two.seq };
    await waitFor(() => ra.readReceipts.length === 1 && rc.readReceipts.length === 1);
    expect(ra.readReceipts[0]).toMatchObject(expected);
    expect(rc.readReceipts[0]).toMatchObject(expected);
    expect(rc.errors).toEqual([]);
  });
});

describe("conversation frames", () => {
  let h: EdgeHarness;
  beforeAll(async () => {
    h = await startEdgeHarness();
    await h.startNode("edge-a");
  }, 60_000);
  afterAll(async () => h?.close());

  it("ADDED to everyone on create and to an added member, UPDATED to the rest and on rename, REMOVED to a removed member who then hears nothing more", async () => {
    const [owner, b, d] = [await h.account("owner"), await h.account("b"), await h.account("d")];
    await h.befriend(owner, b);
    await h.befriend(owner, d);
    const [ro, rb, rd] = [h.connect(owner), h.connect(b), h.connect(d)];
    await Promise.all([synced(ro), synced(rb), synced(rd)]);

    const group = await h.group(owner, [b]);
    await waitFor(() => changesFor(ro, group.id).length === 1 && changesFor(rb, group.id).length === 1);
    expect(changesFor(ro, group.id)).toEqual([ConversationChange.ADDED]);
    expect(changesFor(rb, group.id)).toEqual([ConversationChange.ADDED]);
    // The client seeds its cursor from the frame, so it resumes this conversation from now on.
    expect(rb.client.cursors()[group.id]).toBe(0n);

    await owner.conversations.addMembers({ conversationId: group.id, userIds: [d.id] });
    await waitFor(() => changesFor(rd, group.id).length === 1 && changesFor(rb, group.id).length === 2);
    expect(changesFor(rd, group.id)).toEqual([ConversationChange.ADDED]);
    expect(changesFor(rb, group.id)).toEqual([ConversationChange.ADDED, ConversationChange.UPDATED]);
    expect(rd.conversations.at(-1)!.conversation!.memberCount).toBe(3);

    await send(owner, group.id, "while d is in");
    await waitFor(() => rd.messages.length === 1);

    await owner.conversations.updateGroup({ conversationId: group.id, title: "renamed" });
    await waitFor(() => changesFor(rd, group.id).length === 2 && changesFor(rb, group.id).length === 3);
    for (const r of [ro, rb, rd]) {
      expect(r.conversations.at(-1)).toMatchObject({ change: ConversationChange.UPDATED, conversation: { id: group.id, title: "renamed" } });
    }

    await owner.conversations.removeMember({ conversationId: group.id, userId: d.id });
    await waitFor(() => changesFor(rd, group.id).length === 3 && changesFor(rb, group.id).length === 4);
    expect(changesFor(rd, group.id).at(-1)).toBe(ConversationChange.REMOVED);
    expect(changesFor(rb, group.id).at(-1)).toBe(ConversationChange.UPDATED);
    // A conversation the user left is not resumed (it would only earn permission_denied).
    expect(Object.keys(rd.client.cursors())).not.toContain(group.id);

    await send(owner, group.id, "after d left");
    await waitFor(() => rb.messages.length === 2);
    // b got it; give d's edge the same time and more before concluding d did not.
    await new Promise((r) => setTimeout(r, 300));
    expect(texts(rd.messages)).toEqual(["while d is in"]);
    expect(rd.errors).toEqual([]);
  });

  it("a member who leaves gets REMOVED and the others UPDATED", async () => {
    const [owner, b] = [await h.account("owner"), await h.account("b")];
    await h.befriend(owner, b);
    const group = await h.group(owner, [b]);
    const [ro, rb] = [h.connect(owner), h.connect(b, { cursors: { [group.id]: 0n } })];
    await Promise.all([synced(ro), synced(rb)]);
    await b.conversations.leaveConversation({ conversationId: group.id });
    await waitFor(() => changesFor(rb, group.id).length === 1 && changesFor(ro, group.id).length === 1);
    expect(changesFor(rb, group.id)).toEqual([ConversationChange.REMOVED]);
    expect(changesFor(ro, group.id)).toEqual([ConversationChange.UPDATED]);
  });
});

describe("friend events", () => {
  let h: EdgeHarness;
  beforeAll(async () => {
    h = await startEdgeHarness();
    await h.startNode("edge-a");
  }, 60_000);
  afterAll(async () => h?.close());

  const kinds = (r: Recorder) => r.friends.map((f) => [f.kind, f.userId]);

  it("an accepted request reaches the requester, naming the accepter", async () => {
    const [a, b] = [await h.account("a"), await h.account("b")];
    const [ra, rb] = [h.connect(a), h.connect(b)];
    await Promise.all([synced(ra), synced(rb)]);
    const { request } = await a.friends.sendFriendRequest({ target: { case: "userId", value: b.id } });
    await waitFor(() => rb.friends.length === 1);
    await b.friends.respondToFriendRequest({ requestId: request!.id, accept: true });
    await waitFor(() => ra.friends.length === 1 && rb.friends.length === 2);
    expect(kinds(ra)).toEqual([[FriendEventKind.REQUEST_ACCEPTED, b.id]]);
    expect(ra.friends[0]!.requestId).toBe(request!.id);
    // The accepter's own devices hear it too, about the requester.
    expect(kinds(rb)).toEqual([
      [FriendEventKind.REQUEST_RECEIVED, a.id],
      [FriendEventKind.REQUEST_ACCEPTED, a.id],
    ]);
  });

  it("removing a friend reaches the other side", async () => {
    const [a, b] = [await h.account("a"), await h.account("b")];
    // Befriended while connected: the request's own events are live too, and come first in the
    // stream (befriending before connecting let a late "accepted" pass for the removal).
    const [ra, rb] = [h.connect(a), h.connect(b)];
    await Promise.all([synced(ra), synced(rb)]);
    await h.befriend(a, b);
    await waitFor(() => ra.friends.length === 1 && rb.friends.length === 2);
    await a.friends.removeFriend({ userId: b.id });
    await waitFor(() => rb.friends.length === 3 && ra.friends.length === 2);
    expect(kinds(rb).slice(2)).toEqual([[FriendEventKind.FRIEND_REMOVED, a.id]]);
    expect(kinds(ra).slice(1)).toEqual([[FriendEventKind.FRIEND_REMOVED, b.id]]);
  });

  it("a canceled request reaches both sides; a rejection only the rejecter", async () => {
    const [a, b, c] = [await h.account("a"), await h.account("b"), await h.account("c")];
    const [ra, rb, rc] = [h.connect(a), h.connect(b), h.connect(c)];
    await Promise.all([synced(ra), synced(rb), synced(rc)]);
    const toB = (await a.friends.sendFriendRequest({ target: { case: "userId", value: b.id } })).request!;
    await a.friends.cancelFriendRequest({ requestId: toB.id });
    await waitFor(() => kinds(rb).length === 2 && kinds(ra).length === 1);
    expect(kinds(rb)).toEqual([
      [FriendEventKind.REQUEST_RECEIVED, a.id],
      [FriendEventKind.REQUEST_CANCELED, a.id],
    ]);
    expect(kinds(ra)).toEqual([[FriendEventKind.REQUEST_CANCELED, b.id]]);

    const toC = (await a.friends.sendFriendRequest({ target: { case: "userId", value: c.id } })).request!;
    await waitFor(() => kinds(rc).length === 1);
    await c.friends.respondToFriendRequest({ requestId: toC.id, accept: false });
    await waitFor(() => kinds(rc).length === 2);
    expect(kinds(rc)[1]).toEqual([FriendEventKind.REQUEST_REJECTED, a.id]);
    await new Promise((r) => setTimeout(r, 300));
    expect(kinds(ra)).toEqual([[FriendEventKind.REQUEST_CANCELED, b.id]]);
  });
});
