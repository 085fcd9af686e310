/** ListMessages, MarkRead, SearchMessages. */
import { transactionPublishing } from "@parley/platform";
import type { ChatContext } from "../context.js";
import { requireMember } from "../access.js";
import { messageSearchPageTokens } from "../cursor.js";
import { enqueueReadReceipt } from "../events/publish.js";
import { unreadCount } from "../mappers.js";
import { memberIds } from "../store/conversations.js";
import { directPairBlocked } from "../store/social-graph.js";
import { advanceReadSeq, pageOfHistory, searchMessagesOf, type ListDirectionName } from "../store/messages.js";
import type { MessageRow } from "../store/schema.js";

export async function listMessages(
  ctx: ChatContext,
  me: string,
  conversationId: string,
  cursorSeq: bigint,
  direction: ListDirectionName,
  limit: number,
): Promise<{ rows: MessageRow[]; hasMore: boolean }> {
  await requireMember(ctx.db, conversationId, me);
  return pageOfHistory(ctx.db, conversationId, cursorSeq, direction, limit);
}

/**
 * Moves the read cursor forward only, clamped to last_seq. A receipt is
 * emitted only when the cursor actually moved. In a direct chat with a block
 * either way the receipt goes to the reader's own devices only: the cursor is
 * the reader's, but "read" must not reach the other side.
 */
export async function markRead(
  ctx: ChatContext,
  me: string,
  conversationId: string,
  seq: bigint,
): Promise<{ readSeq: bigint; unreadCount: bigint }> {
  return transactionPublishing(ctx.db, ctx.events, async (tx, publisher) => {
    const { conversation, me: mine } = await requireMember(tx, conversationId, me);
    const target = seq < conversation.lastSeq ? seq : conversation.lastSeq;
    const readSeq = (await advanceReadSeq(tx, conversationId, me, target)) ?? mine.readSeq;
    if (readSeq > mine.readSeq) {
      const recipientIds = (await directPairBlocked(tx, conversation)) ? [me] : await memberIds(tx, conversationId);
      await enqueueReadReceipt(tx, publisher, { conversationId, userId: me, readSeq, recipientIds });
    }
    return { readSeq, unreadCount: unreadCount(conversation.lastSeq, readSeq) };
  });
}

export async function searchMessages(
  ctx: ChatContext,
  me: string,
  query: string,
  conversationId: string | undefined,
  pageSize: number,
  pageToken: string,
): Promise<{ rows: MessageRow[]; nextPageToken: string }> {
  const after = messageSearchPageTokens.decode(pageToken);
  if (conversationId !== undefined) await requireMember(ctx.db, conversationId, me);
  const rows = await searchMessagesOf(ctx.db, me, query, conversationId, after, pageSize + 1);
  const page = rows.slice(0, pageSize);
  const last = page.at(-1);
  return {
    rows: page,
    nextPageToken: rows.length > pageSize && last !== undefined ? messageSearchPageTokens.encode({ at: last.createdAt, id: last.id }) : "",
  };
}
