import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConversationKind, MemberRole } from "@parley/gen/parley/chat/v1/conversation_pb";
import { ConversationEventSchema } from "@parley/gen/parley/chat/v1/events_pb";
import { conversations, members } from "../src/store/schema.js";
import { befriendAll, startChat, type ChatHarness } from "./harness.js";
import { codeOf } from "./util.js";


let h: ChatHarness;
beforeAll(async () => {
  h = await startChat();
});
afterAll(async () => {
  await h?.close();
});

describe("OpenDirect", () => {
  it("opens only between friends, once per pair, even when raced", async () => {
    const [alice, bob, carol] = [await h.user(), await h.user(), await h.user()];
    expect(await codeOf(alice.conversations.openDirect({ userId: bob.id }))).toBe(Code.FailedPrecondition);
    await h.befriend(alice, bob);
    const opened = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? alice : bob).conversations.openDirect({ userId: i % 2 === 0 ? bob.id : alice.id })),
    );
    const ids = new Set(opened.map((r) => r.conversation?.id));
    expect(ids.size).toBe(1);
    const conversation = opened[0]!.conversation!;
    expect(conversation.kind).toBe(ConversationKind.DIRECT);
    expect(conversation.members.map((m) => m.userId).sort()).toEqual([alice.id, bob.id].sort());
    expect(await codeOf(alice.conversations.openDirect({ userId: carol.id }))).toBe(Code.FailedPrecondition);
    expect(await codeOf(alice.conversations.openDirect({ userId: alice.id }))).toBe(Code.InvalidArgument);
    expect(await codeOf(alice.conversations.openDirect({ userId: "not-a-uuid" }))).toBe(Code.InvalidArgument);
    const created = await h.waitForEvent("parley.chat.conversation.created", ConversationEventSchema, (e) => e.conversation?.id === conversation.id);
    expect(created.recipientIds.sort()).toEqual([alice.id, bob.id].sort());
  });

  it("is refused when either side blocked the other", async () => {
    const [alice, bob] = [await h.user(), await h.user()];
    await h.befriend(alice, bob);
    await h.block(bob, alice);
    expect(await codeOf(alice.conversations.openDirect({ userId: bob.id }))).toBe(Code.PermissionDenied);
    expect(await codeOf(bob.conversations.openDirect({ userId: alice.id }))).toBe(Code.PermissionDenied);
    await h.unblock(bob, alice);
    expect((await alice.conversations.openDirect({ userId: bob.id })).conversation?.id).toBeTruthy();
  });
});

describe("social-graph projection", () => {
  it("follows friendship removal: no new direct chat or group membership with an ex-friend", async () => {
    const [alice, bob] = [await h.user(), await h.user()];
    await h.befriend(alice, bob);
    await h.unfriend(alice, bob);
    expect(await codeOf(alice.conversations.openDirect({ userId: bob.id }))).toBe(Code.FailedPrecondition);
    expect(await codeOf(alice.conversations.createGroup({ title: "g", memberIds: [bob.id] }))).toBe(Code.FailedPrecondition);
  });
});

describe("groups", () => {
  it("are created from the creator's unblocked friends, creator as admin", async () => {
    const [admin, friend, stranger, blocker] = [await h.user(), await h.user(), await h.user(), await h.user()];
    await befriendAll(h, admin, [friend, blocker]);
    await h.block(blocker, admin);
    const before = await h.rows(conversations);
    expect(await codeOf(admin.conversations.createGroup({ title: "x", memberIds: [stranger.id] }))).toBe(Code.FailedPrecondition);
    expect(await codeOf(admin.conversations.createGroup({ title: "x", memberIds: [blocker.id] }))).toBe(Code.PermissionDenied);
    expect(await codeOf(admin.conversations.createGroup({ title: "   ", memberIds: [friend.id] }))).toBe(Code.InvalidArgument);
    expect(await codeOf(admin.conversations.createGroup({ title: "a".repeat(101), memberIds: [] }))).toBe(Code.InvalidArgument);
    expect(await h.rows(conversations)).toBe(before);

    const { conversation } = await admin.conversations.createGroup({ title: "  Team  ", memberIds: [friend.id, friend.id] });
    expect(conversation?.title).toBe("Team");
    expect(conversation?.memberCount).toBe(2);
    expect(conversation?.myRole).toBe(MemberRole.ADMIN);
    const roles = Object.fromEntries(conversation!.members.map((m) => [m.userId, m.role]));
    expect(roles).toEqual({ [admin.id]: MemberRole.ADMIN, [friend.id]: MemberRole.MEMBER });
  });

  it("admins add friends (existing members ignored), members can't", async () => {
    const [admin, a, b, c] = [await h.user(), await h.user(), await h.user(), await h.user()];
    await befriendAll(h, admin, [a, b, c]);
    await h.befriend(a, c);
    const { conversation } = await admin.conversations.createGroup({ title: "g", memberIds: [a.id] });
    const id = conversation!.id;
    expect(await codeOf(a.conversations.addMembers({ conversationId: id, userIds: [c.id] }))).toBe(Code.PermissionDenied);
    const added = await admin.conversations.addMembers({ conversationId: id, userIds: [a.id, b.id] });
    expect(added.conversation?.memberCount).toBe(3);
    const event = await h.waitForEvent("parley.chat.conversation.members_added", ConversationEventSchema, (e) => e.conversation?.id === id);
    expect(event.changedUserIds).toEqual([b.id]);
    expect(event.recipientIds.sort()).toEqual([admin.id, a.id, b.id].sort());
    const again = await admin.conversations.addMembers({ conversationId: id, userIds: [b.id] });
    expect(again.conversation?.memberCount).toBe(3);
  });

  it("removal and leaving keep an admin; removed users get the event", async () => {
    const [admin, a, b] = [await h.user(), await h.user(), await h.user()];
    await befriendAll(h, admin, [a, b]);
    const { conversation } = await admin.conversations.createGroup({ title: "g", memberIds: [a.id, b.id] });
    const id = conversation!.id;
    expect(await codeOf(a.conversations.removeMember({ conversationId: id, userId: b.id }))).toBe(Code.PermissionDenied);
    expect(await codeOf(admin.conversations.removeMember({ conversationId: id, userId: admin.id }))).toBe(Code.FailedPrecondition);
    await admin.conversations.removeMember({ conversationId: id, userId: b.id });
    const removed = await h.waitForEvent("parley.chat.conversation.member_removed", ConversationEventSchema, (e) => e.conversation?.id === id);
    expect(removed.changedUserIds).toEqual([b.id]);
    expect(removed.recipientIds.sort()).toEqual([admin.id, a.id, b.id].sort());
    expect(await codeOf(b.conversations.getConversation({ conversationId: id }))).toBe(Code.NotFound);
    expect(await codeOf(admin.conversations.removeMember({ conversationId: id, userId: b.id }))).toBe(Code.NotFound);

    // The last admin leaving promotes the oldest remaining member.
    await admin.conversations.leaveConversation({ conversationId: id });
    const after = await a.conversations.getConversation({ conversationId: id });
    expect(after.conversation?.myRole).toBe(MemberRole.ADMIN);
    expect(after.conversation?.memberCount).toBe(1);
    expect(await h.rows(members)).toBeGreaterThan(0);
  });

  it("only admins rename; direct chats can't be renamed or left", async () => {
    const [admin, a] = [await h.user(), await h.user()];
    await h.befriend(admin, a);
    const { conversation } = await admin.conversations.createGroup({ title: "old", memberIds: [a.id] });
    const id = conversation!.id;
    expect(await codeOf(a.conversations.updateGroup({ conversationId: id, title: "x" }))).toBe(Code.PermissionDenied);
    expect((await admin.conversations.updateGroup({ conversationId: id, title: "new" })).conversation?.title).toBe("new");
    const updated = await h.waitForEvent("parley.chat.conversation.updated", ConversationEventSchema, (e) => e.conversation?.id === id);
    expect(updated.conversation?.title).toBe("new");
    const direct = (await admin.conversations.openDirect({ userId: a.id })).conversation!;
    expect(await codeOf(admin.conversations.updateGroup({ conversationId: direct.id, title: "x" }))).toBe(Code.FailedPrecondition);
    expect(await codeOf(admin.conversations.leaveConversation({ conversationId: direct.id }))).toBe(Code.FailedPrecondition);
  });
});

describe("SearchConversations", () => {
  it("finds group titles among the caller's conversations only", async () => {
    const [me, friend, other] = [await h.user(), await h.user(), await h.user()];
    await h.befriend(me, friend);
    await h.befriend(other, friend);
    await me.conversations.createGroup({ title: "Hiking club", memberIds: [friend.id] });
    await other.conversations.createGroup({ title: "Hiking secrets", memberIds: [friend.id] });
    const mine = await me.conversations.searchConversations({ query: "hik" });
    expect(mine.conversations.map((c) => c.title)).toEqual(["Hiking club"]);
    const friends = await friend.conversations.searchConversations({ query: "HIKING" });
    expect(friends.conversations.map((c) => c.title).sort()).toEqual(["Hiking club", "Hiking secrets"]);
    expect((await me.conversations.searchConversations({ query: "100%" })).conversations).toEqual([]);
    expect(await codeOf(me.conversations.searchConversations({ query: " " }))).toBe(Code.InvalidArgument);
  });
});
