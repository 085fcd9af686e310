/**
 * The relay's side of `sentMessageEvent`: a message.created row stored
 * without its recipients gets them back before it is published. They are the
 * members at publish time, not at commit (the fast path's list): a row only
 * gets here after a crash or a broker outage, and a member who joined in
 * between may read the message anyway (history is not cut at joining), while
 * one who left is no longer a recipient of anything in the conversation.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { inArray } from "drizzle-orm";
import { MessageEventSchema, type MessageEvent } from "@parley/gen/parley/chat/v1/events_pb";
import type { Database, OutboxRow } from "@parley/platform";
import { members } from "../store/schema.js";
import { chatSubjects } from "./subjects.js";

export async function completeStoredMessageEvents(tx: Database, rows: OutboxRow[]): Promise<OutboxRow[]> {
  const incomplete = new Map<number, MessageEvent>();
  for (const [i, row] of rows.entries()) {
    if (row.subject !== chatSubjects.messageCreated) continue;
    let event: MessageEvent;
    try {
      event = fromBinary(MessageEventSchema, row.payload);
    } catch {
      continue; // published as stored: the broker takes it, consumers log and skip it
    }
    // A sent message always has a recipient (its sender's other devices): an empty list is the stored form.
    if (event.recipientIds.length === 0 && event.message) incomplete.set(i, event);
  }
  if (incomplete.size === 0) return rows;
  const conversationIds = [...new Set([...incomplete.values()].map((e) => e.message!.conversationId))];
  const memberRows = await tx
    .select({ conversationId: members.conversationId, userId: members.userId })
    .from(members)
    .where(inArray(members.conversationId, conversationIds));
  const membersOf = new Map<string, string[]>();
  for (const m of memberRows) {
    const list = membersOf.get(m.conversationId);
    if (list) list.push(m.userId);
    else membersOf.set(m.conversationId, [m.userId]);
  }
  return rows.map((row, i) => {
    const event = incomplete.get(i);
    if (!event) return row;
    const recipientIds = membersOf.get(event.message!.conversationId) ?? [];
    return { ...row, payload: toBinary(MessageEventSchema, create(MessageEventSchema, { message: event.message, recipientIds })) };
  });
}
