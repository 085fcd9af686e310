/** ConversationService: request validation and wiring; the rules live in ../conversations/. */
import type { ServiceImpl } from "@connectrpc/connect";
import { ConversationService } from "@parley/gen/parley/chat/v1/conversation_pb";
import { requireUser } from "@parley/platform";
import type { ChatContext } from "../context.js";
import { openDirect } from "../conversations/direct.js";
import { addMembers, createGroup, leaveConversation, MAX_IDS_PER_CALL, removeMember, updateGroup } from "../conversations/groups.js";
import { createInvite, joinByInvite, requireInviteCode, revokeInviteCode } from "../conversations/invites.js";
import { getConversation, getConversationHeads, listConversations, searchConversations } from "../conversations/listing.js";
import { pageSize, requireId, requireIdList, requireSearchQuery, requireTitle } from "../validation.js";

/** GetConversationHeads: one indexed query per call; the edge asks in chunks of this size. */
export const MAX_HEADS_PER_CALL = 1_000;

export function conversationHandlers(ctx: ChatContext): ServiceImpl<typeof ConversationService> {
  return {
    async openDirect(req, hc) {
      const me = requireUser(hc).userId;
      return { conversation: await openDirect(ctx, me, requireId(req.userId, "user_id")) };
    },
    async createGroup(req, hc) {
      const me = requireUser(hc).userId;
      const title = requireTitle(req.title);
      const memberIds = requireIdList(req.memberIds, "member_ids", MAX_IDS_PER_CALL);
      return { conversation: await createGroup(ctx, me, title, memberIds) };
    },
    async addMembers(req, hc) {
      const me = requireUser(hc).userId;
      const conversationId = requireId(req.conversationId, "conversation_id");
      const userIds = requireIdList(req.userIds, "user_ids", MAX_IDS_PER_CALL);
      return { conversation: await addMembers(ctx, me, conversationId, userIds) };
    },
    async removeMember(req, hc) {
      const me = requireUser(hc).userId;
      await removeMember(ctx, me, requireId(req.conversationId, "conversation_id"), requireId(req.userId, "user_id"));
      return {};
    },
    async leaveConversation(req, hc) {
      const me = requireUser(hc).userId;
      await leaveConversation(ctx, me, requireId(req.conversationId, "conversation_id"));
      return {};
    },
    async updateGroup(req, hc) {
      const me = requireUser(hc).userId;
      const conversationId = requireId(req.conversationId, "conversation_id");
      return { conversation: await updateGroup(ctx, me, conversationId, requireTitle(req.title)) };
    },
    async createInvite(req, hc) {
      const me = requireUser(hc).userId;
      const conversationId = requireId(req.conversationId, "conversation_id");
      return { invite: await createInvite(ctx, me, conversationId, req.ttlSeconds, req.maxUses) };
    },
    async revokeInvite(req, hc) {
      const me = requireUser(hc).userId;
      await revokeInviteCode(ctx, me, requireInviteCode(req.code));
      return {};
    },
    async joinByInvite(req, hc) {
      const me = requireUser(hc).userId;
      return { conversation: await joinByInvite(ctx, me, requireInviteCode(req.code)) };
    },
    async listConversations(req, hc) {
      const me = requireUser(hc).userId;
      return listConversations(ctx, me, pageSize(req.pageSize, "page_size", 50, 200), req.pageToken);
    },
    async getConversation(req, hc) {
      const me = requireUser(hc).userId;
      return { conversation: await getConversation(ctx, me, requireId(req.conversationId, "conversation_id")) };
    },
    async getConversationHeads(req, hc) {
      const me = requireUser(hc).userId;
      const ids = requireIdList(req.conversationIds, "conversation_ids", MAX_HEADS_PER_CALL);
      return { heads: await getConversationHeads(ctx, me, ids) };
    },
    async searchConversations(req, hc) {
      const me = requireUser(hc).userId;
      const query = requireSearchQuery(req.query, 100);
      return { conversations: await searchConversations(ctx, me, query, pageSize(req.pageSize, "page_size", 20, 100)) };
    },
  };
}
