import { Code } from "@connectrpc/connect";
import { FriendRequestEventSchema, FriendshipEventSchema } from "@parley/gen/parley/identity/v1/events_pb";
import { FriendRequestDirection, FriendRequestStatus } from "@parley/gen/parley/identity/v1/friend_pb";
import { decodeEvent } from "@parley/platform";
import { waitFor } from "@parley/platform/testing";
import { and, eq, or } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { friendRequests } from "../src/store/schema.js";
import { createAccount, expectRejectedWithoutChanges, snapshot, startHarness, type Account, type Harness } from "./harness.js";

let h: Harness;
let alice: Account, bob: Account, carol: Account, dave: Account, erin: Account, frank: Account;

beforeAll(async () => {
  h = await startHarness();
  [alice, bob, carol, dave, erin, frank] = await Promise.all(
    ["alice", "bob.b", "carol", "dave", "erin", "frank"].map((name) => createAccount(h, name)),
  ) as [Account, Account, Account, Account, Account, Account];
});
afterAll(async () => {
  await h?.close();
});

const friendIds = async (a: Account) => (await a.clients.friends.listFriends({})).friends.map((f) => f.user!.id).sort();

/** Waits for the events published since `mark` to include these subjects, and returns them all. */
async function eventsSince(mark: number, subjects: string[]) {
  await waitFor(() => subjects.every((s) => h.events.slice(mark).some((m) => m.subject === s)));
  return h.events.slice(mark);
}

describe("requests", () => {
  it("sent by username and accepted makes both users friends, with events", async () => {
    const mark = h.events.length;
    const sent = await alice.clients.friends.sendFriendRequest({ target: { case: "username", value: "BOB.B" } });
    expect(sent.request).toMatchObject({ status: FriendRequestStatus.PENDING, from: { id: alice.user.id }, to: { id: bob.user.id } });

    const incoming = await bob.clients.friends.listFriendRequests({ direction: FriendRequestDirection.INCOMING });
    expect(incoming.requests.map((r) => [r.id, r.from?.username, r.to?.username])).toEqual([[sent.request!.id, "alice", "bob.b"]]);
    const outgoing = await alice.clients.friends.listFriendRequests({ direction: FriendRequestDirection.OUTGOING });
    expect(outgoing.requests.map((r) => r.id)).toEqual([sent.request!.id]);
    expect((await alice.clients.friends.listFriendRequests({ direction: FriendRequestDirection.INCOMING })).requests).toEqual([]);

    const accepted = await bob.clients.friends.respondToFriendRequest({ requestId: sent.request!.id, accept: true });
    expect(accepted.request?.status).toBe(FriendRequestStatus.ACCEPTED);
    expect(await friendIds(alice)).toEqual([bob.user.id]);
    expect(await friendIds(bob)).toEqual([alice.user.id]);
    expect((await alice.clients.friends.listFriends({})).friends[0]?.since).toBeDefined();
    expect((await bob.clients.friends.listFriendRequests({ direction: FriendRequestDirection.INCOMING })).requests).toEqual([]);

    const events = await eventsSince(mark, [
      "parley.identity.friend_request.created",
      "parley.identity.friend_request.accepted",
      "parley.identity.friendship.created",
    ]);
    const created = decodeEvent(FriendRequestEventSchema, events.find((m) => m.subject.endsWith("friend_request.created"))!);
    expect(created).toMatchObject({ requestId: sent.request!.id, fromUserId: alice.user.id, toUserId: bob.user.id });
    const friendship = decodeEvent(FriendshipEventSchema, events.find((m) => m.subject.endsWith("friendship.created"))!);
    expect([friendship.userAId, friendship.userBId]).toEqual([alice.user.id, bob.user.id].sort());
    expect(friendship.userAId < friendship.userBId).toBe(true);
  });

  it("sent by email and rejected leaves no friendship; a new request may follow", async () => {
    const mark = h.events.length;
    const sent = await alice.clients.friends.sendFriendRequest({ target: { case: "email", value: "Carol@Example.com" } });
    const rejected = await carol.clients.friends.respondToFriendRequest({ requestId: sent.request!.id, accept: false });
    expect(rejected.request?.status).toBe(FriendRequestStatus.REJECTED);
    expect(await friendIds(carol)).toEqual([]);
    await eventsSince(mark, ["parley.identity.friend_request.rejected"]);
    const again = await alice.clients.friends.sendFriendRequest({ target: { case: "email", value: "carol@example.com" } });
    expect(again.request?.id).not.toBe(sent.request!.id);
    await carol.clients.friends.respondToFriendRequest({ requestId: again.request!.id, accept: true });
    expect(await friendIds(carol)).toEqual([alice.user.id]);
  });

  it("sent by id can be canceled only by its sender, only while pending", async () => {
    const mark = h.events.length;
    const sent = await alice.clients.friends.sendFriendRequest({ target: { case: "userId", value: dave.user.id } });
    const requestId = sent.request!.id;
    await expectRejectedWithoutChanges(h, [
      [() => dave.clients.friends.cancelFriendRequest({ requestId }), Code.PermissionDenied, /only the sender/],
      [() => alice.clients.friends.respondToFriendRequest({ requestId, accept: true }), Code.PermissionDenied, /only the recipient/],
      [() => erin.clients.friends.respondToFriendRequest({ requestId, accept: true }), Code.NotFound, "friend request not found"],
      [() => erin.clients.friends.cancelFriendRequest({ requestId }), Code.NotFound, "friend request not found"],
    ]);
    await alice.clients.friends.cancelFriendRequest({ requestId });
    await eventsSince(mark, ["parley.identity.friend_request.canceled"]);
    expect((await dave.clients.friends.listFriendRequests({ direction: FriendRequestDirection.INCOMING })).requests).toEqual([]);
    await expectRejectedWithoutChanges(h, [
      [() => alice.clients.friends.cancelFriendRequest({ requestId }), Code.FailedPrecondition, "friend request is no longer pending"],
      [() => dave.clients.friends.respondToFriendRequest({ requestId, accept: true }), Code.FailedPrecondition, "friend request is no longer pending"],
    ]);
  });

  it("sending back to someone who already asked accepts their request", async () => {
    const theirs = await erin.clients.friends.sendFriendRequest({ target: { case: "userId", value: frank.user.id } });
    const mine = await frank.clients.friends.sendFriendRequest({ target: { case: "username", value: "erin" } });
    expect(mine.request).toMatchObject({ id: theirs.request!.id, status: FriendRequestStatus.ACCEPTED });
    expect(await friendIds(erin)).toEqual([frank.user.id]);
    const rows = await h.db
      .select()
      .from(friendRequests)
      .where(
        or(
          and(eq(friendRequests.fromUserId, erin.user.id), eq(friendRequests.toUserId, frank.user.id)),
          and(eq(friendRequests.fromUserId, frank.user.id), eq(friendRequests.toUserId, erin.user.id)),
        ),
      );
    expect(rows).toHaveLength(1);
  });

  it("rejects bad requests without changing anything", async () => {
    await dave.clients.friends.sendFriendRequest({ target: { case: "userId", value: erin.user.id } });
    const send = alice.clients.friends.sendFriendRequest;
    const respond = erin.clients.friends.respondToFriendRequest;
    await expectRejectedWithoutChanges(h, [
      [() => send({ target: { case: "userId", value: alice.user.id } }), Code.InvalidArgument, /yourself/],
      [() => send({ target: { case: "username", value: "ALICE" } }), Code.InvalidArgument, /yourself/],
      [() => send({ target: { case: "userId", value: bob.user.id } }), Code.AlreadyExists, /already friends/],
      [() => dave.clients.friends.sendFriendRequest({ target: { case: "username", value: "erin" } }), Code.AlreadyExists, /already pending/],
      [() => send({ target: { case: "userId", value: "not-a-uuid" } }), Code.InvalidArgument, "user_id must be a UUID"],
      [() => send({ target: { case: "userId", value: "0b5c3a9e-1111-4111-8111-111111111111" } }), Code.NotFound, "user not found"],
      [() => send({ target: { case: "email", value: "nobody@example.com" } }), Code.NotFound, "user not found"],
      [() => send({ target: { case: "email", value: "bad email" } }), Code.InvalidArgument, "email is not a valid address"],
      [() => send({ target: { case: "username", value: "nobody" } }), Code.NotFound, "user not found"],
      [() => send({ target: { case: "username", value: "" } }), Code.InvalidArgument, "username is required"],
      [() => send({ target: { case: undefined } }), Code.InvalidArgument, /one of user_id, email or username/],
      [() => respond({ requestId: "nope", accept: true }), Code.InvalidArgument, "request_id must be a UUID"],
      [() => respond({ requestId: "0b5c3a9e-2222-4222-8222-222222222222", accept: true }), Code.NotFound, "friend request not found"],
      [() => alice.clients.friends.removeFriend({ userId: dave.user.id }), Code.NotFound, /not friends/],
      [() => alice.clients.friends.removeFriend({ userId: "x" }), Code.InvalidArgument, "user_id must be a UUID"],
      [() => alice.clients.friends.blockUser({ userId: alice.user.id }), Code.InvalidArgument, /yourself/],
      [() => alice.clients.friends.blockUser({ userId: "0b5c3a9e-3333-4333-8333-333333333333" }), Code.NotFound, "user not found"],
      [() => alice.clients.friends.unblockUser({ userId: "zzz" }), Code.InvalidArgument, "user_id must be a UUID"],
      [() => alice.clients.friends.listFriends({ pageSize: 101 }), Code.InvalidArgument, /page_size/],
      [() => alice.clients.friends.listFriendRequests({ pageToken: "%%%" }), Code.InvalidArgument, "page_token is not a page token"],
    ]);
  });

  it("pages friend lists", async () => {
    const first = await alice.clients.friends.listFriends({ pageSize: 1 });
    expect(first.friends).toHaveLength(1);
    const second = await alice.clients.friends.listFriends({ pageSize: 1, pageToken: first.nextPageToken });
    expect(second.friends).toHaveLength(1);
    expect(second.nextPageToken).toBe("");
    expect([first.friends[0]!.user!.id, second.friends[0]!.user!.id].sort()).toEqual([bob.user.id, carol.user.id].sort());
  });
});

describe("blocks", () => {
  it("blocking removes the friendship and pending requests both ways, idempotently, and stops new requests", async () => {
    await dave.clients.friends.sendFriendRequest({ target: { case: "userId", value: alice.user.id } });
    const mark = h.events.length;
    await alice.clients.friends.blockUser({ userId: bob.user.id });
    await alice.clients.friends.blockUser({ userId: dave.user.id });
    const events = await eventsSince(mark, [
      "parley.identity.block.created",
      "parley.identity.friendship.removed",
      "parley.identity.friend_request.canceled",
    ]);
    expect(events.filter((m) => m.subject === "parley.identity.block.created")).toHaveLength(2);
    expect(await friendIds(alice)).toEqual([carol.user.id]);
    expect(await friendIds(bob)).toEqual([]);
    expect((await alice.clients.friends.listFriendRequests({})).requests).toEqual([]);
    expect((await alice.clients.friends.listBlocked({})).users.map((u) => u.id).sort()).toEqual([bob.user.id, dave.user.id].sort());

    // Blocking again: no error, no change, no event.
    const beforeRepeat = { events: h.events.length, rows: await snapshot(h.db) };
    await alice.clients.friends.blockUser({ userId: bob.user.id });
    expect(await snapshot(h.db)).toEqual(beforeRepeat.rows);
    // The relay publishes within milliseconds; a stray event would show up in this time.
    await new Promise((r) => setTimeout(r, 300));
    expect(h.events.length).toBe(beforeRepeat.events);

    // Neither side can send a request. The blocked user gets what an unknown user gets, by id,
    // username or email alike (GetUser and search hide the blocker too); the blocker is told why.
    await expectRejectedWithoutChanges(h, [
      [() => bob.clients.friends.sendFriendRequest({ target: { case: "userId", value: alice.user.id } }), Code.NotFound, "user not found"],
      [() => bob.clients.friends.sendFriendRequest({ target: { case: "username", value: alice.username } }), Code.NotFound, "user not found"],
      [() => bob.clients.friends.sendFriendRequest({ target: { case: "email", value: alice.email } }), Code.NotFound, "user not found"],
      [() => bob.clients.friends.sendFriendRequest({ target: { case: "userId", value: "0b5c3a9e-3333-4333-8333-333333333333" } }), Code.NotFound, "user not found"],
      [() => alice.clients.friends.sendFriendRequest({ target: { case: "username", value: "bob.b" } }), Code.PermissionDenied, /you blocked this user/],
    ]);
  });

  it("unblocking lets requests through again", async () => {
    const mark = h.events.length;
    await alice.clients.friends.unblockUser({ userId: bob.user.id });
    await alice.clients.friends.unblockUser({ userId: bob.user.id });
    await eventsSince(mark, ["parley.identity.block.removed"]);
    expect((await alice.clients.friends.listBlocked({})).users.map((u) => u.id)).toEqual([dave.user.id]);
    const sent = await bob.clients.friends.sendFriendRequest({ target: { case: "userId", value: alice.user.id } });
    expect(sent.request?.status).toBe(FriendRequestStatus.PENDING);
  });

  it("removing a friend ends the friendship for both and emits friendship.removed", async () => {
    const mark = h.events.length;
    await frank.clients.friends.removeFriend({ userId: erin.user.id });
    await eventsSince(mark, ["parley.identity.friendship.removed"]);
    expect(await friendIds(erin)).toEqual([]);
    expect(await friendIds(frank)).toEqual([]);
  });
});
