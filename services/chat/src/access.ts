/**
 * Membership checks. A non-member gets the same `not_found` as for an unknown
 * id, so the API never reveals that a conversation exists.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import type { Database } from "@parley/platform";
import { findConversation, findMembership, lockConversation } from "./store/conversations.js";
import type { ConversationRow, MemberRow } from "./store/schema.js";

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

export function requireGroup(conversation: ConversationRow, action: string): void {
  if (conversation.kind !== "group") {
    throw new ConnectError(`direct conversations can't ${action}`, Code.FailedPrecondition);
  }
}

export function requireAdmin(me: MemberRow, action: string): void {
  if (me.role !== "admin") throw new ConnectError(`only admins can ${action}`, Code.PermissionDenied);
}
