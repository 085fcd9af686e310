/**
 * Membership checks. A non-member gets the same `not_found` as for an unknown
 * id, so the API never reveals that a conversation exists.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { and, eq, or, sql } from "drizzle-orm";
import type { Database } from "@parley/platform";
import { findConversation, findMembership, lockConversation } from "./store/conversations.js";
import type { SendState } from "./store/messages.js";
import { blocks, conversations, members, messages, type ConversationRow, type MemberRow } from "./store/schema.js";

export function conversationNotFound(): ConnectError {
  return new ConnectError("conversation not found", Code.NotFound);
}

export interface Membership {
  conversation: ConversationRow;
  me: MemberRow;
}

export async function requireMember(db: Database, conversationId: string, userId: string): Promise<Membership> {
  const me = await findMembership(db, conversationId, userId);
  const conversation = me === undefined ? undefined : await findConversation(db, conversationId);
  if (me === undefined || conversation === undefined) throw conversationNotFound();
  return { conversation, me };
}

/** Locks the conversation (see lockConversation), then checks membership. */
export async function lockAsMember(tx: Database, conversationId: string, userId: string): Promise<Membership> {
  const conversation = await lockConversation(tx, conversationId);
  const me = conversation === undefined ? undefined : await findMembership(tx, conversationId, userId);
  if (conversation === undefined || me === undefined) throw conversationNotFound();
  return { conversation, me };
}

/**
 * SendMessage's checks that need no lock, in one round trip and in the order
 * they are reported: membership (not_found), a block either way in a direct
 * chat (permission_denied), the reply target (not_found). Run before the
 * conversation is locked so the lock is held for the writes only; membership
 * is checked again under the lock (insertMessageAsMember), a block is no more
 * racy than before (the block projection never took the conversation lock),
 * and a message never changes conversation, so the reply check cannot go stale.
 */
export async function checkSendAccess(
  db: Database,
  conversationId: string,
  userId: string,
  replyToMessageId: string | undefined,
): Promise<void> {
  const c = conversations;
  const [row] = await db
    .select({
      member: sql<boolean>`exists (select 1 from ${members} where ${and(eq(members.conversationId, c.id), eq(members.userId, userId))})`,
      // Only a member gets this far, so "a block either way between me and the
      // other one" is "a block either way between the pair".
      blocked: sql<boolean>`(${c.kind} = 'direct' and exists (select 1 from ${blocks} where ${or(
        and(eq(blocks.blockerId, c.directLo), eq(blocks.blockedId, c.directHi)),
        and(eq(blocks.blockerId, c.directHi), eq(blocks.blockedId, c.directLo)),
      )}))`,
      replyFound:
        replyToMessageId === undefined
          ? sql<boolean>`true`
          : sql<boolean>`exists (select 1 from ${messages} where ${and(eq(messages.id, replyToMessageId), eq(messages.conversationId, c.id))})`,
    })
    .from(c)
    .where(eq(c.id, conversationId));
  if (row === undefined || !row.member) throw conversationNotFound();
  if (row.blocked) throw new ConnectError("you can't message this user", Code.PermissionDenied);
  if (!row.replyFound) throw new ConnectError("reply_to_message_id is not a message of this conversation", Code.NotFound);
}

/** Reports `readSendState`'s checks with `checkSendAccess`'s codes, in its order. */
export function requireSendAccess(state: SendState["conversation"]): asserts state is NonNullable<SendState["conversation"]> {
  if (state === undefined || !state.member) throw conversationNotFound();
  if (state.blocked) throw new ConnectError("you can't message this user", Code.PermissionDenied);
  if (!state.replyFound) throw new ConnectError("reply_to_message_id is not a message of this conversation", Code.NotFound);
}

export function requireGroup(conversation: ConversationRow, action: string): void {
  if (conversation.kind !== "group") {
    throw new ConnectError(`direct conversations can't ${action}`, Code.FailedPrecondition);
  }
}

export function requireAdmin(me: MemberRow, action: string): void {
  if (me.role !== "admin") throw new ConnectError(`only admins can ${action}`, Code.PermissionDenied);
}
