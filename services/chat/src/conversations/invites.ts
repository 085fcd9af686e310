/** Invite codes: created and revoked by admins, redeemed by anyone holding one. */
import { randomBytes } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { InviteSchema, type Conversation, type Invite } from "@parley/gen/parley/chat/v1/conversation_pb";
import { transactionPublishing } from "@parley/platform";
import { conversationNotFound, requireAdmin, requireGroup, requireMember } from "../access.js";
import type { ChatContext } from "../context.js";
import { enqueueConversationEvent } from "../events/publish.js";
import { chatEvents } from "../events/subjects.js";
import { findMembership, lockConversation, refreshMemberCount } from "../store/conversations.js";
import { countInviteUse, findInvite, insertInvite, revokeInvite } from "../store/invites.js";
import { members, type InviteRow } from "../store/schema.js";
import { blockedByInviteAuthority } from "../store/social-graph.js";
import { invalid } from "../validation.js";
import { conversationFor, conversationForEvent } from "./views.js";
import { groupFull, MAX_GROUP_MEMBERS } from "./groups.js";

const DAY_SEC = 24 * 3600;
export const DEFAULT_INVITE_TTL_SEC = 7 * DAY_SEC;
export const MAX_INVITE_TTL_SEC = 30 * DAY_SEC;
const CODE_FORMAT = /^[A-Za-z0-9_-]{1,64}$/;

export function requireInviteCode(code: string): string {
  if (code === "") throw invalid("code is required");
  if (!CODE_FORMAT.test(code)) throw invalid("code is not a valid invite code");
  return code;
}

function toInvite(row: InviteRow): Invite {
  return create(InviteSchema, {
    code: row.code,
    conversationId: row.conversationId,
    expiresAt: timestampFromDate(row.expiresAt),
    maxUses: row.maxUses,
    uses: row.uses,
  });
}

export async function createInvite(
  ctx: ChatContext,
  me: string,
  conversationId: string,
  ttlSeconds: number,
  maxUses: number,
): Promise<Invite> {
  if (ttlSeconds < 0 || ttlSeconds > MAX_INVITE_TTL_SEC) {
    throw invalid(`ttl_seconds must be between 1 and ${MAX_INVITE_TTL_SEC} (0 = 7 days)`);
  }
  if (maxUses < 0) throw invalid("max_uses must not be negative (0 = unlimited)");
  const { conversation, me: mine } = await requireMember(ctx.db, conversationId, me);
  requireGroup(conversation, "have invites");
  requireAdmin(mine, "create invites");
  const now = new Date();
  const row = await insertInvite(ctx.db, {
    // 144 random bits: unguessable, and url-safe as is.
    code: randomBytes(18).toString("base64url"),
    conversationId,
    createdBy: me,
    createdAt: now,
    expiresAt: new Date(now.getTime() + (ttlSeconds === 0 ? DEFAULT_INVITE_TTL_SEC : ttlSeconds) * 1000),
    maxUses,
  });
  return toInvite(row);
}

export async function revokeInviteCode(ctx: ChatContext, me: string, code: string): Promise<void> {
  const invite = await findInvite(ctx.db, code);
  if (invite === undefined) throw new ConnectError("invite not found", Code.NotFound);
  const mine = await findMembership(ctx.db, invite.conversationId, me);
  // Non-members learn nothing about whose invite it is.
  if (mine === undefined) throw new ConnectError("invite not found", Code.NotFound);
  requireAdmin(mine, "revoke invites");
  await revokeInvite(ctx.db, code);
}

/**
 * Redeems an invite. Refused, as if the code were unknown, when the invite's
 * creator or a current admin has blocked the joiner: they decide who is in the
 * group, and a code is an open door rather than a decision about this joiner,
 * so a forwarded or leaked code must not walk someone any of them blocked past
 * them. The answer does not reveal the block (services/chat/README.md, Blocks).
 */
export async function joinByInvite(ctx: ChatContext, me: string, code: string): Promise<Conversation> {
  const row = await transactionPublishing(ctx.db, ctx.events, async (tx, publisher) => {
    // Invite before conversation, always: the lock order that keeps uses exact.
    const invite = await findInvite(tx, code, { lock: true });
    if (invite === undefined) throw new ConnectError("invite not found", Code.NotFound);
    const conversation = await lockConversation(tx, invite.conversationId);
    if (conversation === undefined) throw conversationNotFound();
    if ((await findMembership(tx, conversation.id, me)) !== undefined) return conversation;
    if (invite.revokedAt !== null) throw new ConnectError("invite has been revoked", Code.FailedPrecondition);
    if (invite.expiresAt.getTime() <= Date.now()) throw new ConnectError("invite has expired", Code.FailedPrecondition);
    if (invite.maxUses > 0 && invite.uses >= invite.maxUses) {
      throw new ConnectError("invite has reached its maximum number of uses", Code.FailedPrecondition);
    }
    if (await blockedByInviteAuthority(tx, conversation.id, invite.createdBy, me)) {
      throw new ConnectError("invite not found", Code.NotFound);
    }
    // member_count is exact here: the conversation row is locked and every membership change refreshes it.
    if (conversation.memberCount >= MAX_GROUP_MEMBERS) throw groupFull();
    await tx.insert(members).values({ conversationId: conversation.id, userId: me, role: "member", joinedAt: new Date() });
    await countInviteUse(tx, code);
    const updated = await refreshMemberCount(tx, conversation.id);
    const event = await conversationForEvent(tx, updated);
    await enqueueConversationEvent(tx, publisher, chatEvents.membersAdded, {
      conversation: event.conversation,
      actorId: me,
      changedUserIds: [me],
      recipientIds: event.memberIds,
    });
    return updated;
  });
  return conversationFor(ctx.db, row, me);
}
