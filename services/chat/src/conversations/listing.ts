/** ListConversations, GetConversation, SearchConversations. */
import type { Conversation, ConversationHead } from "@parley/gen/parley/chat/v1/conversation_pb";
import { create } from "@bufbuild/protobuf";
import { ConversationHeadSchema } from "@parley/gen/parley/chat/v1/conversation_pb";
import { requireMember } from "../access.js";
import type { ChatContext } from "../context.js";
import { conversationPageTokens } from "../cursor.js";
import { toConversation } from "../mappers.js";
import { headsOf, lastMessagesOf, listConversationsOf, membersOf, searchGroupsOf, type ConversationWithMe } from "../store/conversations.js";
import { conversationFor } from "./views.js";

/** Adds last messages, and the members of direct chats (clients show the other person). */
async function present(ctx: ChatContext, rows: ConversationWithMe[]): Promise<Conversation[]> {
  const conversations = rows.map((r) => r.conversation);
  const lastMessages = await lastMessagesOf(ctx.db, conversations);
  const directMembers = await membersOf(
    ctx.db,
    conversations.filter((c) => c.kind === "direct").map((c) => c.id),
  );
  return rows.map(({ conversation, me }) =>
    toConversation(conversation, {
      me,
      members: directMembers.get(conversation.id),
      lastMessage: lastMessages.get(conversation.id),
    }),
  );
}

export async function listConversations(
  ctx: ChatContext,
  me: string,
  pageSize: number,
  pageToken: string,
): Promise<{ conversations: Conversation[]; nextPageToken: string }> {
  const after = conversationPageTokens.decode(pageToken);
  const rows = await listConversationsOf(ctx.db, me, after, pageSize + 1);
  const page = rows.slice(0, pageSize);
  const last = page.at(-1);
  return {
    conversations: await present(ctx, page),
    nextPageToken:
      rows.length > pageSize && last !== undefined
        ? conversationPageTokens.encode({ at: last.conversation.lastActivityAt, id: last.conversation.id })
        : "",
  };
}

export async function getConversation(ctx: ChatContext, me: string, conversationId: string): Promise<Conversation> {
  const { conversation } = await requireMember(ctx.db, conversationId, me);
  return conversationFor(ctx.db, conversation, me);
}

/** Heads of the conversations among `ids` that `me` belongs to; the rest are left out, not errors (members only). */
export async function getConversationHeads(ctx: ChatContext, me: string, ids: string[]): Promise<ConversationHead[]> {
  const rows = await headsOf(ctx.db, me, ids);
  return rows.map((r) => create(ConversationHeadSchema, { conversationId: r.id, lastSeq: r.lastSeq }));
}

export async function searchConversations(ctx: ChatContext, me: string, query: string, limit: number): Promise<Conversation[]> {
  return present(ctx, await searchGroupsOf(ctx.db, me, query, limit));
}
