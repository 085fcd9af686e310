/**
 * Outbox writes. Each helper runs inside the transaction of the change it
 * announces, so an event exists exactly when its change committed. Message
 * events and read receipts come back as rows for the caller to hand to the
 * fast path (`ctx.events.publishCommitted`) once the transaction committed;
 * conversation events are left to the relay, woken by NOTIFY.
 */
import { create } from "@bufbuild/protobuf";
import type { Conversation } from "@parley/gen/parley/chat/v1/conversation_pb";
import {
  ConversationEventSchema,
  MessageEventSchema,
  ReadReceiptEventSchema,
} from "@parley/gen/parley/chat/v1/events_pb";
import { enqueueEvent, enqueueOutboxEvents, outboxEvent, type Database, type OutboxEvent } from "@parley/platform";
import { toMessage } from "../mappers.js";
import { outbox, type MessageRow } from "../store/schema.js";
import { chatSubjects } from "./subjects.js";

type MessageSubject = (typeof chatSubjects)["messageCreated" | "messageEdited" | "messageDeleted"];
type ConversationSubject = (typeof chatSubjects)[
  | "conversationCreated"
  | "conversationUpdated"
  | "membersAdded"
  | "memberRemoved"];

export async function enqueueMessageEvent(
  tx: Database,
  subject: MessageSubject,
  message: MessageRow,
  recipientIds: string[],
): Promise<OutboxEvent[]> {
  return enqueueOutboxEvents(tx, outbox, subject, MessageEventSchema, [{ message: toMessage(message), recipientIds }], {
    notifyRelay: false,
  });
}

/** A message event encoded for a statement that inserts its outbox row itself (SendMessage). */
export function messageEvent(subject: MessageSubject, message: Omit<MessageRow, "search">, recipientIds: string[]): OutboxEvent {
  return outboxEvent(subject, MessageEventSchema, { message: toMessage(message), recipientIds });
}

export async function enqueueConversationEvent(
  tx: Database,
  subject: ConversationSubject,
  event: { conversation: Conversation; actorId: string; changedUserIds: string[]; recipientIds: string[] },
): Promise<void> {
  await enqueueEvent(tx, outbox, subject, ConversationEventSchema, create(ConversationEventSchema, event));
}

export async function enqueueReadReceipt(
  tx: Database,
  event: { conversationId: string; userId: string; readSeq: bigint; recipientIds: string[] },
): Promise<OutboxEvent[]> {
  return enqueueOutboxEvents(tx, outbox, chatSubjects.readUpdated, ReadReceiptEventSchema, [event], { notifyRelay: false });
}
