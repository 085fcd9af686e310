/** Message queries. */
import { and, asc, desc, eq, gt, lt, sql } from "drizzle-orm";
import type { Database } from "@parley/platform";
import type { TimeIdCursor } from "../cursor.js";
import { conversations, members, messages, type ConversationRow, type MessageRow } from "./schema.js";

export async function findMessage(db: Database, id: string): Promise<MessageRow | undefined> {
  const [row] = await db.select().from(messages).where(eq(messages.id, id));
  return row;
}

export async function findByClientId(db: Database, senderId: string, clientMessageId: string): Promise<MessageRow | undefined> {
  const [row] = await db
    .select()
    .from(messages)
    .where(and(eq(messages.senderId, senderId), eq(messages.clientMessageId, clientMessageId)));
  return row;
}

/**
 * Hands out the next seq. The caller holds the conversation's row lock, so seqs
 * are gap-free and the timestamp never goes backwards within a conversation.
 */
export async function nextSeq(tx: Database, conversationId: string): Promise<Pick<ConversationRow, "lastSeq" | "lastActivityAt">> {
  const [row] = await tx
    .update(conversations)
    .set({
      lastSeq: sql`${conversations.lastSeq} + 1`,
      lastActivityAt: sql`greatest(clock_timestamp(), ${conversations.lastActivityAt})`,
    })
    .where(eq(conversations.id, conversationId))
    .returning({ lastSeq: conversations.lastSeq, lastActivityAt: conversations.lastActivityAt });
  if (row === undefined) throw new Error(`conversation ${conversationId} vanished under its lock`);
  return row;
}

export type NewMessage = typeof messages.$inferInsert;

export async function insertMessage(tx: Database, values: NewMessage): Promise<MessageRow> {
  const [row] = await tx.insert(messages).values(values).returning();
  if (row === undefined) throw new Error("insert returned no row");
  return row;
}

/** Read cursor only moves forward. Returns the member's read_seq afterwards. */
export async function advanceReadSeq(tx: Database, conversationId: string, userId: string, seq: bigint): Promise<bigint | undefined> {
  const [row] = await tx
    .update(members)
    .set({ readSeq: sql`greatest(${members.readSeq}, ${seq.toString()}::bigint)` })
    .where(and(eq(members.conversationId, conversationId), eq(members.userId, userId)))
    .returning({ readSeq: members.readSeq });
  return row?.readSeq;
}

export type ListDirectionName = "backward" | "forward";

/** One index range scan of messages' pk (conversation_id, seq); fetches limit+1 to know has_more. */
export async function pageOfHistory(
  db: Database,
  conversationId: string,
  cursorSeq: bigint,
  direction: ListDirectionName,
  limit: number,
): Promise<{ rows: MessageRow[]; hasMore: boolean }> {
  const rows =
    direction === "forward"
      ? await db
          .select()
          .from(messages)
          .where(and(eq(messages.conversationId, conversationId), gt(messages.seq, cursorSeq)))
          .orderBy(asc(messages.seq))
          .limit(limit + 1)
      : await db
          .select()
          .from(messages)
          .where(
            and(eq(messages.conversationId, conversationId), cursorSeq === 0n ? undefined : lt(messages.seq, cursorSeq)),
          )
          .orderBy(desc(messages.seq))
          .limit(limit + 1);
  return { rows: rows.slice(0, limit), hasMore: rows.length > limit };
}

/**
 * Full-text search (GIN on the generated tsvector) over the conversations the
 * user is currently a member of, newest first, keyset-paged on (created_at, id).
 */
export async function searchMessagesOf(
  db: Database,
  userId: string,
  query: string,
  conversationId: string | undefined,
  after: TimeIdCursor | undefined,
  limit: number,
): Promise<MessageRow[]> {
  const myConversations = db
    .select({ id: members.conversationId })
    .from(members)
    .where(eq(members.userId, userId));
  return db
    .select()
    .from(messages)
    .where(
      and(
        sql`${messages.search} @@ websearch_to_tsquery('simple', ${query})`,
        eq(messages.deleted, false),
        sql`${messages.conversationId} in ${myConversations}`,
        conversationId === undefined ? undefined : eq(messages.conversationId, conversationId),
        after === undefined
          ? undefined
          : sql`(${messages.createdAt}, ${messages.id}) < (${after.at.toISOString()}::timestamptz, ${after.id}::uuid)`,
      ),
    )
    .orderBy(desc(messages.createdAt), desc(messages.id))
    .limit(limit);
}
