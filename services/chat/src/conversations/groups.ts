/** Group lifecycle and membership. Every change locks the conversation row first. */
import { randomUUID } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { and, eq } from "drizzle-orm";
import type { Conversation } from "@parley/gen/parley/chat/v1/conversation_pb";
import { transactionPublishing, type CommitPublisher, type Database } from "@parley/platform";
import { lockAsMember, requireAdmin, requireGroup } from "../access.js";
import type { ChatContext } from "../context.js";
import { enqueueConversationEvent } from "../events/publish.js";
import { chatEvents } from "../events/subjects.js";
import { findMembership, listMembers, refreshMemberCount } from "../store/conversations.js";
import { conversations, members, type ConversationRow } from "../store/schema.js";
import { invalid } from "../validation.js";
import { requireAddableFriends } from "./social-checks.js";
import { conversationFor, conversationForEvent } from "./views.js";

export const MAX_IDS_PER_CALL = 256;

/**
 * Members of one group, creator included (the contract's limit, see
 * conversation.proto). DESIGN sizes fan-out for 1,000-member groups, and a
 * membership event carries every member id: an unbounded group would
 * eventually produce an event the broker refuses.
 */
export const MAX_GROUP_MEMBERS = 1_000;

export function groupFull(): ConnectError {
  return new ConnectError(`the group is full: a group has at most ${MAX_GROUP_MEMBERS} members`, Code.FailedPrecondition);
}

export async function createGroup(ctx: ChatContext, me: string, title: string, memberIds: string[]): Promise<Conversation> {
  const others = memberIds.filter((id) => id !== me);
  if (others.length + 1 > MAX_GROUP_MEMBERS) throw groupFull();
  await requireAddableFriends(ctx.db, me, others);
  const row = await transactionPublishing(ctx.db, ctx.events, async (tx, publisher) => {
    const now = new Date();
    const [created] = await tx
      .insert(conversations)
      .values({ id: randomUUID(), kind: "group", title, createdBy: me, createdAt: now, lastActivityAt: now, memberCount: others.length + 1 })
      .returning();
    if (created === undefined) throw new Error("insert returned no row");
    await tx.insert(members).values([
      { conversationId: created.id, userId: me, role: "admin", joinedAt: now },
      ...others.map((userId) => ({ conversationId: created.id, userId, role: "member" as const, joinedAt: now })),
    ]);
    const { conversation, memberIds: recipients } = await conversationForEvent(tx, created);
    await enqueueConversationEvent(tx, publisher, chatEvents.conversationCreated, {
      conversation,
      actorId: me,
      changedUserIds: recipients,
      recipientIds: recipients,
    });
    return created;
  });
  return conversationFor(ctx.db, row, me);
}

export async function addMembers(ctx: ChatContext, me: string, conversationId: string, userIds: string[]): Promise<Conversation> {
  if (userIds.length === 0) throw invalid("user_ids must not be empty");
  const row = await transactionPublishing(ctx.db, ctx.events, async (tx, publisher) => {
    const { conversation, me: mine } = await lockAsMember(tx, conversationId, me);
    requireGroup(conversation, "have members added");
    requireAdmin(mine, "add members");
    const current = new Set((await listMembers(tx, conversationId)).map((m) => m.userId));
    const added = userIds.filter((id) => !current.has(id));
    if (added.length === 0) return conversation;
    if (current.size + added.length > MAX_GROUP_MEMBERS) throw groupFull();
    await requireAddableFriends(tx, me, added);
    const now = new Date();
    await tx.insert(members).values(added.map((userId) => ({ conversationId, userId, role: "member" as const, joinedAt: now })));
    const updated = await refreshMemberCount(tx, conversationId);
    const event = await conversationForEvent(tx, updated);
    await enqueueConversationEvent(tx, publisher, chatEvents.membersAdded, {
      conversation: event.conversation,
      actorId: me,
      changedUserIds: added,
      recipientIds: event.memberIds,
    });
    return updated;
  });
  return conversationFor(ctx.db, row, me);
}

export async function removeMember(ctx: ChatContext, me: string, conversationId: string, userId: string): Promise<void> {
  await transactionPublishing(ctx.db, ctx.events, async (tx, publisher) => {
    const { conversation, me: mine } = await lockAsMember(tx, conversationId, me);
    requireGroup(conversation, "have members removed");
    requireAdmin(mine, "remove members");
    const target = await findMembership(tx, conversationId, userId);
    if (target === undefined) throw new ConnectError("user is not a member of this conversation", Code.NotFound);
    if (userId === me) {
      const admins = (await listMembers(tx, conversationId)).filter((m) => m.role === "admin");
      if (admins.length === 1) {
        throw new ConnectError("you are the last admin; use LeaveConversation to leave", Code.FailedPrecondition);
      }
    }
    await deleteMemberAndAnnounce(tx, publisher, conversation, me, userId);
  });
}

/** When the last admin leaves, the oldest remaining member becomes admin. */
export async function leaveConversation(ctx: ChatContext, me: string, conversationId: string): Promise<void> {
  await transactionPublishing(ctx.db, ctx.events, async (tx, publisher) => {
    const { conversation, me: mine } = await lockAsMember(tx, conversationId, me);
    requireGroup(conversation, "be left");
    const remaining = (await listMembers(tx, conversationId)).filter((m) => m.userId !== me);
    const oldest = remaining[0];
    if (mine.role === "admin" && oldest !== undefined && !remaining.some((m) => m.role === "admin")) {
      await tx
        .update(members)
        .set({ role: "admin" })
        .where(and(eq(members.conversationId, conversationId), eq(members.userId, oldest.userId)));
    }
    await deleteMemberAndAnnounce(tx, publisher, conversation, me, me);
  });
}

/** The removed user is among the recipients so their devices drop the conversation. */
async function deleteMemberAndAnnounce(
  tx: Database,
  publisher: CommitPublisher,
  conversation: ConversationRow,
  actorId: string,
  userId: string,
): Promise<void> {
  await tx.delete(members).where(and(eq(members.conversationId, conversation.id), eq(members.userId, userId)));
  const updated = await refreshMemberCount(tx, conversation.id);
  const event = await conversationForEvent(tx, updated);
  await enqueueConversationEvent(tx, publisher, chatEvents.memberRemoved, {
    conversation: event.conversation,
    actorId,
    changedUserIds: [userId],
    recipientIds: [...event.memberIds, userId],
  });
}

export async function updateGroup(ctx: ChatContext, me: string, conversationId: string, title: string): Promise<Conversation> {
  const row = await transactionPublishing(ctx.db, ctx.events, async (tx, publisher) => {
    const { conversation, me: mine } = await lockAsMember(tx, conversationId, me);
    requireGroup(conversation, "be renamed");
    requireAdmin(mine, "rename the group");
    const [updated] = await tx.update(conversations).set({ title }).where(eq(conversations.id, conversationId)).returning();
    if (updated === undefined) throw new Error("conversation vanished under its lock");
    const event = await conversationForEvent(tx, updated);
    await enqueueConversationEvent(tx, publisher, chatEvents.conversationUpdated, {
      conversation: event.conversation,
      actorId: me,
      changedUserIds: [],
      recipientIds: event.memberIds,
    });
    return updated;
  });
  return conversationFor(ctx.db, row, me);
}
