/**
 * Outbox writes. Each helper runs inside the transaction of the change it
 * announces, so an event exists exactly when its change committed.
 */
import { create } from "@bufbuild/protobuf";
import type { Conversation } from "@parley/gen/parley/chat/v1/conversation_pb";
import {
  ConversationEventSchema,
  MessageEventSchema,
  ReadReceiptEventSchema,
} from "@parley/gen/parley/chat/v1/events_pb";
import { enqueueEvent, type Database } from "@parley/platform";
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
): Promise<void> {
  await enqueueEvent(tx, outbox, subject, MessageEventSchema, create(MessageEventSchema, {
    message: toMessage(message),
    recipientIds,
  }));
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
): Promise<void> {
  await enqueueEvent(tx, outbox, chatSubjects.readUpdated, ReadReceiptEventSchema, create(ReadReceiptEventSchema, event));
}
