/** MessageService: request validation and wiring; the rules live in ../messages/. */
import type { ServiceImpl } from "@connectrpc/connect";
import { ListDirection, MessageService } from "@parley/gen/parley/chat/v1/message_pb";
import { requireUser } from "@parley/platform";
import type { ChatContext } from "../context.js";
import { toMessage } from "../mappers.js";
import { deleteMessage, editMessage } from "../messages/edit.js";
import { listMessages, markRead, searchMessages } from "../messages/reading.js";
import { sendMessage } from "../messages/send.js";
import type { ListDirectionName } from "../store/messages.js";
import {
  invalid,
  optionalId,
  pageSize,
  requireClientMessageId,
  requireId,
  requireMessageText,
  requireSearchQuery,
} from "../validation.js";

function direction(value: ListDirection): ListDirectionName {
  switch (value) {
    case ListDirection.UNSPECIFIED:
    case ListDirection.BACKWARD:
      return "backward";
    case ListDirection.FORWARD:
      return "forward";
    default:
      throw invalid("direction is not a known ListDirection");
  }
}

function nonNegative(value: bigint, field: string): bigint {
  if (value < 0n) throw invalid(`${field} must not be negative`);
  return value;
}

export function messageHandlers(ctx: ChatContext): ServiceImpl<typeof MessageService> {
  return {
    async sendMessage(req, hc) {
      const me = requireUser(hc).userId;
      const conversationId = requireId(req.conversationId, "conversation_id");
      const clientMessageId = requireClientMessageId(req.clientMessageId);
      const replyToMessageId = optionalId(req.replyToMessageId, "reply_to_message_id");
      const forwardMessageId = optionalId(req.forwardMessageId, "forward_message_id");
      if (forwardMessageId !== undefined && req.text !== "") throw invalid("text must be empty when forwarding");
      const text = forwardMessageId === undefined ? requireMessageText(req.text) : undefined;
      const row = await sendMessage(ctx, me, { conversationId, clientMessageId, text, replyToMessageId, forwardMessageId });
      return { message: toMessage(row) };
    },
    async listMessages(req, hc) {
      const me = requireUser(hc).userId;
      const conversationId = requireId(req.conversationId, "conversation_id");
      const cursorSeq = nonNegative(req.cursorSeq, "cursor_seq");
      const limit = pageSize(req.limit, "limit", 50, 200);
      const page = await listMessages(ctx, me, conversationId, cursorSeq, direction(req.direction), limit);
      return { messages: page.rows.map(toMessage), hasMore: page.hasMore };
    },
    async editMessage(req, hc) {
      const me = requireUser(hc).userId;
      const messageId = requireId(req.messageId, "message_id");
      const text = requireMessageText(req.text);
      return { message: toMessage(await editMessage(ctx, me, messageId, text)) };
    },
    async deleteMessage(req, hc) {
      const me = requireUser(hc).userId;
      return { message: toMessage(await deleteMessage(ctx, me, requireId(req.messageId, "message_id"))) };
    },
    async markRead(req, hc) {
      const me = requireUser(hc).userId;
      const conversationId = requireId(req.conversationId, "conversation_id");
      return markRead(ctx, me, conversationId, nonNegative(req.seq, "seq"));
    },
    async searchMessages(req, hc) {
      const me = requireUser(hc).userId;
      const query = requireSearchQuery(req.query, 200);
      const conversationId = optionalId(req.conversationId, "conversation_id");
      const size = pageSize(req.pageSize, "page_size", 20, 100);
      const page = await searchMessages(ctx, me, query, conversationId, size, req.pageToken);
      return { messages: page.rows.map(toMessage), nextPageToken: page.nextPageToken };
    },
  };
}
