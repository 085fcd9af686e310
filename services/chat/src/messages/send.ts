/**
 * SendMessage. The seq, the timestamp, the row, the sender's read cursor and
 * the outbox event are written atomically, under the conversation's row lock,
 * and the event is published right after the commit (the outbox row is the
 * fallback, see OutboxFastPath).
 *
 * Usually two round trips: one read (retry lookup, access checks, and the
 * conversation's seq, timestamp, members and row version; shared with the
 * sends that arrive while a read is in flight, send-reads.ts), then one statement
 * that writes everything if the conversation row is still that version
 * (`insertMessagesIfUnchanged`). Sends to one conversation that arrive while
 * its previous write is in flight share the next statement (send-batches.ts),
 * so a busy conversation writes many messages per round trip. The event,
 * which carries the seq and the recipients, is encoded in between. When the
 * row changed or is locked (another process's send, a membership change),
 * and for forwards, the send takes the locking way: seq under the lock, then
 * insert + cursor + recipients, then the outbox row, in one transaction.
 *
 * A concurrent duplicate client id is left to the unique index: the loser's
 * insert fails, its whole write (seq included) rolls back and it answers
 * with the winner.
 */
import { randomUUID } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { transactionPublishing, type Database } from "@parley/platform";
import { checkSendAccess, conversationNotFound, requireMember, requireSendAccess } from "../access.js";
import type { ChatContext } from "../context.js";
import { isUniqueViolation } from "../db-errors.js";
import { enqueueMessageEvent } from "../events/publish.js";
import { chatEvents } from "../events/subjects.js";
import { findByClientId, findMessage, insertMessageAsMember, nextSeq, type UnsequencedMessage } from "../store/messages.js";
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
  if (input.forwardMessageId !== undefined) return sendForward(ctx, me, input, input.forwardMessageId);
  const known = ctx.sendBatches.knownMembers(input.conversationId);
  const state = await ctx.sendReads.read({
    conversationId: input.conversationId,
    senderId: me,
    clientMessageId: input.clientMessageId,
    replyToMessageId: input.replyToMessageId,
    known,
  });
  if (state.earlierConversationId !== undefined) {
    const earlier = await earlierSend(ctx.db, me, input);
    if (earlier !== undefined) return earlier;
  }
  const conversation = state.conversation;
  requireSendAccess(conversation);
  // Undefined: not written in a batch (the row moved on, a duplicate client id, …); the locking way sorts it out.
  const row = await ctx.sendBatches.write(input.conversationId, newMessage(me, input, undefined), conversation);
  return row ?? sendLocking(ctx, me, input, undefined);
}

/** Forwards are rare: the checks of the target run alongside the usual ones, then the locking way. */
async function sendForward(ctx: ChatContext, me: string, input: SendInput, forwardMessageId: string): Promise<MessageRow> {
  // Started together (they are independent reads); settled in the order the
  // errors are reported: retry first, then forward target, then access.
  const [retried, forward, access] = await Promise.allSettled([
    earlierSend(ctx.db, me, input),
    readableMessage(ctx.db, me, forwardMessageId),
    checkSendAccess(ctx.db, input.conversationId, me, input.replyToMessageId),
  ]);
  const earlier = settledValue(retried);
  if (earlier !== undefined) return earlier;
  const forwardOf = settledValue(forward);
  settledValue(access);
  return sendLocking(ctx, me, input, forwardOf);
}

/** The message fields a send sets, whichever way it is written. */
function newMessage(
  me: string,
  input: SendInput,
  forwardOf: MessageRow | undefined,
): UnsequencedMessage {
  return {
    conversationId: input.conversationId,
    id: randomUUID(),
    senderId: me,
    clientMessageId: input.clientMessageId,
    text: forwardOf?.text ?? input.text ?? "",
    replyToMessageId: input.replyToMessageId ?? null,
    forwardedFromConversationId: forwardOf?.conversationId ?? null,
    forwardedFromMessageId: forwardOf?.id ?? null,
    forwardedFromSenderId: forwardOf?.senderId ?? null,
  };
}

/**
 * The send as one transaction that waits for the conversation's lock; the
 * access checks have passed already (membership is checked again under the lock).
 */
async function sendLocking(ctx: ChatContext, me: string, input: SendInput, forwardOf: MessageRow | undefined): Promise<MessageRow> {
  return answerDuplicate(ctx.db, me, input, () =>
    transactionPublishing(ctx.db, ctx.events, async (tx, publisher) => {
      const next = await nextSeq(tx, input.conversationId);
      if (next === undefined) throw conversationNotFound();
      const inserted = await insertMessageAsMember(tx, { ...newMessage(me, input, forwardOf), seq: next.lastSeq, createdAt: next.lastActivityAt });
      // Removed between the check and the lock: the throw rolls the seq back.
      if (inserted === undefined) throw conversationNotFound();
      await enqueueMessageEvent(tx, publisher, chatEvents.messageCreated, inserted.row, inserted.memberIds);
      return inserted.row;
    }),
  );
}

/**
 * Runs a write; if the same client id committed first (same or another
 * conversation), the write rolled back as a whole (no seq used), so answers
 * like a retry.
 */
async function answerDuplicate(db: Database, me: string, input: SendInput, write: () => Promise<MessageRow>): Promise<MessageRow> {
  try {
    return await write();
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    const winner = await earlierSend(db, me, input);
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
