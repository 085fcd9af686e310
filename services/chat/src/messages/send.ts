/**
 * SendMessage. The seq, the timestamp, the row, the sender's read cursor and
 * the outbox event are one transaction, taken under the conversation's row lock.
 *
 * The lock serialises every send of a conversation, so only what must be
 * ordered happens under it: seq (which takes the lock), then one statement
 * for insert + read cursor + recipients, then the outbox row; three round
 * trips. Everything that needs no lock (retry lookup, access checks, reply
 * and forward targets) runs before, concurrently. A concurrent duplicate
 * client id is left to the unique index: the loser's insert fails, its whole
 * transaction (seq included) rolls back and it answers with the winner.
 */
import { randomUUID } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Database } from "@parley/platform";
import { checkSendAccess, conversationNotFound, requireMember } from "../access.js";
import type { ChatContext } from "../context.js";
import { isUniqueViolation } from "../db-errors.js";
import { enqueueMessageEvent } from "../events/publish.js";
import { chatSubjects } from "../events/subjects.js";
import { findByClientId, findMessage, insertMessageAsMember, nextSeq } from "../store/messages.js";
import type { MessageRow } from "../store/schema.js";

export interface SendInput {
  conversationId: string;
  clientMessageId: string;
  /** Already validated; undefined when forwarding. */
  text: string | undefined;
  replyToMessageId: string | undefined;
  forwardMessageId: string | undefined;
}

export async function sendMessage(ctx: ChatContext, me: string, input: SendInput): Promise<MessageRow> {
  // Started together (they are independent reads); settled in the order the
  // errors are reported: retry first, then forward target, then access.
  const [retried, forward, access] = await Promise.allSettled([
    earlierSend(ctx.db, me, input),
    input.forwardMessageId === undefined ? Promise.resolve(undefined) : readableMessage(ctx.db, me, input.forwardMessageId),
    checkSendAccess(ctx.db, input.conversationId, me, input.replyToMessageId),
  ]);
  const earlier = settledValue(retried);
  if (earlier !== undefined) return earlier;
  const forwardOf = settledValue(forward);
  settledValue(access);
  try {
    return await ctx.db.transaction(async (tx) => {
      const next = await nextSeq(tx, input.conversationId);
      if (next === undefined) throw conversationNotFound();
      const { lastSeq, lastActivityAt } = next;
      const sent = await insertMessageAsMember(tx, {
        conversationId: input.conversationId,
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
      // Removed between the check above and the lock: the throw rolls the seq back.
      if (sent === undefined) throw conversationNotFound();
      await enqueueMessageEvent(tx, chatSubjects.messageCreated, sent.row, sent.memberIds);
      return sent.row;
    });
  } catch (error) {
    // The same client id committed first (same or another conversation); the
    // whole transaction rolled back (no seq used), so answer like a retry.
    if (!isUniqueViolation(error)) throw error;
    const winner = await earlierSend(ctx.db, me, input);
    if (winner === undefined) throw error;
    return winner;
  }
}

function settledValue<T>(result: PromiseSettledResult<T>): T {
  if (result.status === "rejected") throw result.reason;
  return result.value;
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
