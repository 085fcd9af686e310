/**
 * SendMessage. The seq, the timestamp, the row, the sender's read cursor and
 * the outbox event are one transaction, taken under the conversation's row lock.
 */
import { randomUUID } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Database } from "@parley/platform";
import { lockAsMember, requireMember } from "../access.js";
import type { ChatContext } from "../context.js";
import { isUniqueViolation } from "../db-errors.js";
import { enqueueMessageEvent } from "../events/publish.js";
import { chatSubjects } from "../events/subjects.js";
import { memberIds } from "../store/conversations.js";
import { advanceReadSeq, findByClientId, findMessage, insertMessage, nextSeq } from "../store/messages.js";
import type { MessageRow } from "../store/schema.js";
import { blockedEitherWay } from "../store/social-graph.js";

export interface SendInput {
  conversationId: string;
  clientMessageId: string;
  /** Already validated; undefined when forwarding. */
  text: string | undefined;
  replyToMessageId: string | undefined;
  forwardMessageId: string | undefined;
}

export async function sendMessage(ctx: ChatContext, me: string, input: SendInput): Promise<MessageRow> {
  const retried = await earlierSend(ctx.db, me, input);
  if (retried !== undefined) return retried;
  const forwardOf = input.forwardMessageId === undefined ? undefined : await readableMessage(ctx.db, me, input.forwardMessageId);
  try {
    return await ctx.db.transaction(async (tx) => {
      const { conversation } = await lockAsMember(tx, input.conversationId, me);
      // A concurrent duplicate for this conversation committed before we got the lock.
      const duplicate = await earlierSend(tx, me, input);
      if (duplicate !== undefined) return duplicate;
      if (conversation.kind === "direct") {
        const other = conversation.directLo === me ? conversation.directHi : conversation.directLo;
        if (other !== null && (await blockedEitherWay(tx, me, other))) {
          throw new ConnectError("you can't message this user", Code.PermissionDenied);
        }
      }
      if (input.replyToMessageId !== undefined) {
        const target = await findMessage(tx, input.replyToMessageId);
        if (target === undefined || target.conversationId !== conversation.id) {
          throw new ConnectError("reply_to_message_id is not a message of this conversation", Code.NotFound);
        }
      }
      const { lastSeq, lastActivityAt } = await nextSeq(tx, conversation.id);
      const message = await insertMessage(tx, {
        conversationId: conversation.id,
        seq: lastSeq,
        id: randomUUID(),
        senderId: me,
        clientMessageId: input.clientMessageId,
        text: forwardOf?.text ?? input.text ?? "",
        replyToMessageId: input.replyToMessageId ?? null,
        forwardedFromConversationId: forwardOf?.conversationId ?? null,
        forwardedFromMessageId: forwardOf?.id ?? null,
        forwardedFromSenderId: forwardOf?.senderId ?? null,
        createdAt: lastActivityAt,
      });
      // One's own message is read: unread stays last_seq - read_seq.
      await advanceReadSeq(tx, conversation.id, me, lastSeq);
      await enqueueMessageEvent(tx, chatSubjects.messageCreated, message, await memberIds(tx, conversation.id));
      return message;
    });
  } catch (error) {
    // The same client id raced in through another conversation's lock; the
    // whole transaction rolled back (no seq used), so answer like a retry.
    if (!isUniqueViolation(error)) throw error;
    const winner = await earlierSend(ctx.db, me, input);
    if (winner === undefined) throw error;
    return winner;
  }
}

/** The message an earlier call with this client id stored, if any. */
async function earlierSend(db: Database, me: string, input: SendInput): Promise<MessageRow | undefined> {
  const existing = await findByClientId(db, me, input.clientMessageId);
  if (existing === undefined) return undefined;
  if (existing.conversationId !== input.conversationId) {
    throw new ConnectError("client_message_id was already used for a message in another conversation", Code.AlreadyExists);
  }
  return existing;
}

/** A message in a conversation the caller belongs to, not deleted. */
async function readableMessage(db: Database, me: string, messageId: string): Promise<MessageRow> {
  const message = await findMessage(db, messageId);
  const notFound = new ConnectError("forward_message_id: message not found", Code.NotFound);
  if (message === undefined || message.deleted) throw notFound;
  await requireMember(db, message.conversationId, me).catch(() => {
    throw notFound;
  });
  return message;
}
