/** Building Conversation messages for responses and events. */
import type { Conversation } from "@parley/gen/parley/chat/v1/conversation_pb";
import type { Database } from "@parley/platform";
import { toConversation } from "../mappers.js";
import { lastMessagesOf, listMembers } from "../store/conversations.js";
import type { ConversationRow } from "../store/schema.js";

/** The full view one member sees: members, last message, their read state. */
export async function conversationFor(db: Database, row: ConversationRow, viewerId: string): Promise<Conversation> {
  const members = await listMembers(db, row.id);
  const lastMessage = (await lastMessagesOf(db, [row])).get(row.id);
  const me = members.find((m) => m.userId === viewerId);
  return toConversation(row, { me, members, lastMessage });
}

/** What events carry: no viewer, the member list, and who receives it. */
export async function conversationForEvent(
  db: Database,
  row: ConversationRow,
): Promise<{ conversation: Conversation; memberIds: string[] }> {
  const members = await listMembers(db, row.id);
  return { conversation: toConversation(row, { members }), memberIds: members.map((m) => m.userId) };
}
