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
 * Hands out the next seq, taking the conversation's row lock (the UPDATE
 * locks it until commit), so seqs are gap-free and the timestamp never goes
 * backwards within a conversation. Undefined if the conversation is gone.
 */
export async function nextSeq(
  tx: Database,
  conversationId: string,
): Promise<Pick<ConversationRow, "lastSeq" | "lastActivityAt"> | undefined> {
  const [row] = await tx
    .update(conversations)
    .set({
      lastSeq: sql`${conversations.lastSeq} + 1`,
      lastActivityAt: sql`greatest(clock_timestamp(), ${conversations.lastActivityAt})`,
    })
    .where(eq(conversations.id, conversationId))
    .returning({ lastSeq: conversations.lastSeq, lastActivityAt: conversations.lastActivityAt });
  return row;
}

export type NewMessage = typeof messages.$inferInsert;

export type SentMessage = Omit<NewMessage, "seq" | "createdAt"> & { seq: bigint; createdAt: Date };

/**
 * The rest of a send, in one round trip, run after nextSeq took the row lock:
 * inserts the message if the sender is (still) a member, advances the
 * sender's read cursor to it, and reads the recipients. It must be a statement
 * of its own after the lock: a statement sees the members of the snapshot it
 * started with, so one that waited for the lock (say, behind AddMembers) would
 * miss the members that commit added. Returns undefined (nothing written) when
 * the sender is not a member.
 */
export async function insertMessageAsMember(
  tx: Database,
  m: SentMessage,
): Promise<{ row: MessageRow; memberIds: string[] } | undefined> {
  const seq = m.seq.toString();
  const result = await tx.execute(sql`
    with inserted as (
      insert into ${messages} (conversation_id, seq, id, sender_id, client_message_id, text, reply_to_message_id,
        forwarded_from_conversation_id, forwarded_from_message_id, forwarded_from_sender_id, created_at)
      select ${m.conversationId}::uuid, ${seq}::bigint, ${m.id}::uuid, ${m.senderId}::uuid, ${m.clientMessageId}, ${m.text},
        ${m.replyToMessageId ?? null}::uuid, ${m.forwardedFromConversationId ?? null}::uuid,
        ${m.forwardedFromMessageId ?? null}::uuid, ${m.forwardedFromSenderId ?? null}::uuid, ${m.createdAt.toISOString()}::timestamptz
      where exists (select 1 from ${members} where conversation_id = ${m.conversationId}::uuid and user_id = ${m.senderId}::uuid)
      returning search::text as search
    ), read_cursor as (
      update ${members} set read_seq = greatest(read_seq, ${seq}::bigint)
      where conversation_id = ${m.conversationId}::uuid and user_id = ${m.senderId}::uuid and exists (select 1 from inserted)
    )
    select inserted.search,
      (select coalesce(json_agg(user_id), '[]'::json) from ${members} where conversation_id = ${m.conversationId}::uuid)::text as member_ids
    from inserted`);
  const row = firstRow(result);
  if (row === undefined) return undefined;
  const search = row["search"];
  const ids: unknown = JSON.parse(String(row["member_ids"]));
  if (typeof search !== "string" || !Array.isArray(ids) || !ids.every((id): id is string => typeof id === "string")) {
    throw new Error("unexpected row from the message insert");
  }
  return {
    row: {
      conversationId: m.conversationId,
      seq: m.seq,
      id: m.id,
      senderId: m.senderId,
      clientMessageId: m.clientMessageId,
      text: m.text,
      replyToMessageId: m.replyToMessageId ?? null,
      forwardedFromConversationId: m.forwardedFromConversationId ?? null,
      forwardedFromMessageId: m.forwardedFromMessageId ?? null,
      forwardedFromSenderId: m.forwardedFromSenderId ?? null,
      createdAt: m.createdAt,
      // Column defaults: a new message is neither edited nor deleted.
      editedAt: null,
      deleted: false,
      search,
    },
    memberIds: ids,
  };
}

/** `execute` is typed `unknown` over both drivers; both answer `{ rows: [...] }`. */
function firstRow(result: unknown): Record<string, unknown> | undefined {
  const rows: unknown = typeof result === "object" && result !== null ? Reflect.get(result, "rows") : undefined;
  if (!Array.isArray(rows)) throw new Error("driver returned no rows array");
  const first: unknown = rows[0];
  if (first === undefined) return undefined;
  if (typeof first !== "object" || first === null) throw new Error("driver returned a non-object row");
  return Object.fromEntries(Object.entries(first));
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
