/**
 * EditMessage and DeleteMessage: author only, on a message they can still see,
 * and never into a direct chat with a block either way (an edit or a delete
 * reaches the other side live, like a send).
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { eq } from "drizzle-orm";
import { transactionPublishing, type Database } from "@parley/platform";
import type { ChatContext } from "../context.js";
import { enqueueMessageEvent } from "../events/publish.js";
import { chatEvents } from "../events/subjects.js";
import { requireNoBlockInDirect } from "../conversations/social-checks.js";
import { findConversation, findMembership, memberIds } from "../store/conversations.js";
import { messages, type MessageRow } from "../store/schema.js";

function messageNotFound(): ConnectError {
  return new ConnectError("message not found", Code.NotFound);
}

/** Locks the message so an edit and a delete of it can't interleave. */
async function lockOwnMessage(tx: Database, me: string, messageId: string): Promise<MessageRow> {
  const [message] = await tx.select().from(messages).where(eq(messages.id, messageId)).for("update");
  if (message === undefined) throw messageNotFound();
  if ((await findMembership(tx, message.conversationId, me)) === undefined) throw messageNotFound();
  if (message.senderId !== me) {
    throw new ConnectError("only the author can change a message", Code.PermissionDenied);
  }
  const conversation = await findConversation(tx, message.conversationId);
  if (conversation === undefined) throw messageNotFound();
  await requireNoBlockInDirect(tx, conversation);
  return message;
}

async function updateMessage(tx: Database, id: string, set: Partial<typeof messages.$inferInsert>): Promise<MessageRow> {
  const [row] = await tx.update(messages).set(set).where(eq(messages.id, id)).returning();
  if (row === undefined) throw new Error("message vanished under its lock");
  return row;
}

export async function editMessage(ctx: ChatContext, me: string, messageId: string, text: string): Promise<MessageRow> {
  return transactionPublishing(ctx.db, ctx.events, async (tx, publisher) => {
    const message = await lockOwnMessage(tx, me, messageId);
    if (message.deleted) throw new ConnectError("message has been deleted", Code.FailedPrecondition);
    const edited = await updateMessage(tx, messageId, { text, editedAt: new Date() });
    await enqueueMessageEvent(tx, publisher, chatEvents.messageEdited, edited, await memberIds(tx, edited.conversationId));
    return edited;
  });
}

/** Leaves a tombstone (deleted, text cleared) so history keeps its seqs. Deleting twice is a no-op. */
export async function deleteMessage(ctx: ChatContext, me: string, messageId: string): Promise<MessageRow> {
  return transactionPublishing(ctx.db, ctx.events, async (tx, publisher) => {
    const message = await lockOwnMessage(tx, me, messageId);
    if (message.deleted) return message;
    const tombstone = await updateMessage(tx, messageId, { text: "", deleted: true });
    await enqueueMessageEvent(tx, publisher, chatEvents.messageDeleted, tombstone, await memberIds(tx, tombstone.conversationId));
    return tombstone;
  });
}
