/** Conversation and membership queries. */
import { and, asc, desc, eq, inArray, sql } from "drizzle-orm";
import type { Database } from "@parley/platform";
import type { TimeIdCursor } from "../cursor.js";
import { conversations, members, messages, type ConversationRow, type MemberRow, type MessageRow } from "./schema.js";

export async function findConversation(db: Database, id: string): Promise<ConversationRow | undefined> {
  const [row] = await db.select().from(conversations).where(eq(conversations.id, id));
  return row;
}

/**
 * Locks the conversation row for the rest of the transaction. Every change of
 * membership or seq takes this lock first, which serialises them per conversation.
 */
export async function lockConversation(tx: Database, id: string): Promise<ConversationRow | undefined> {
  const [row] = await tx.select().from(conversations).where(eq(conversations.id, id)).for("update");
  return row;
}

export async function findDirect(db: Database, lo: string, hi: string): Promise<ConversationRow | undefined> {
  const [row] = await db
    .select()
    .from(conversations)
    .where(and(eq(conversations.directLo, lo), eq(conversations.directHi, hi)));
  return row;
}

export async function findMembership(db: Database, conversationId: string, userId: string): Promise<MemberRow | undefined> {
  const [row] = await db
    .select()
    .from(members)
    .where(and(eq(members.conversationId, conversationId), eq(members.userId, userId)));
  return row;
}

/** Oldest member first (the order LeaveConversation promotes in). */
export async function listMembers(db: Database, conversationId: string): Promise<MemberRow[]> {
  return db
    .select()
    .from(members)
    .where(eq(members.conversationId, conversationId))
    .orderBy(asc(members.joinedAt), asc(members.userId));
}

export async function memberIds(db: Database, conversationId: string): Promise<string[]> {
  const rows = await db.select({ userId: members.userId }).from(members).where(eq(members.conversationId, conversationId));
  return rows.map((r) => r.userId);
}

/** Call with the conversation locked; returns the updated row. */
export async function refreshMemberCount(tx: Database, conversationId: string): Promise<ConversationRow> {
  const [row] = await tx
    .update(conversations)
    .set({ memberCount: sql`(select count(*) from ${members} where ${members.conversationId} = ${conversationId})::int` })
    .where(eq(conversations.id, conversationId))
    .returning();
  if (row === undefined) throw new Error(`conversation ${conversationId} vanished under its lock`);
  return row;
}

export interface ConversationWithMe {
  conversation: ConversationRow;
  me: MemberRow;
}

/**
 * The caller's conversations, newest activity first, keyset-paged on
 * (last_activity_at desc, id desc). Driven from members(user_id, ...) then a pk
 * lookup per conversation; see the README for the plan.
 */
export async function listConversationsOf(
  db: Database,
  userId: string,
  after: TimeIdCursor | undefined,
  limit: number,
): Promise<ConversationWithMe[]> {
  const beforeCursor =
    after === undefined
      ? undefined
      : sql`(${conversations.lastActivityAt}, ${conversations.id}) < (${after.at.toISOString()}::timestamptz, ${after.id}::uuid)`;
  const rows = await db
    .select({ conversation: conversations, me: members })
    .from(members)
    .innerJoin(conversations, eq(conversations.id, members.conversationId))
    .where(and(eq(members.userId, userId), beforeCursor))
    .orderBy(desc(conversations.lastActivityAt), desc(conversations.id))
    .limit(limit);
  return rows;
}

/** Group conversations of the caller whose title contains `query` (trigram index). */
export async function searchGroupsOf(db: Database, userId: string, query: string, limit: number): Promise<ConversationWithMe[]> {
  const pattern = `%${query.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  return db
    .select({ conversation: conversations, me: members })
    .from(members)
    .innerJoin(conversations, eq(conversations.id, members.conversationId))
    .where(and(eq(members.userId, userId), eq(conversations.kind, "group"), sql`${conversations.title} ilike ${pattern}`))
    .orderBy(desc(conversations.lastActivityAt), desc(conversations.id))
    .limit(limit);
}

/** The last message of each conversation: one pk lookup per conversation. */
export async function lastMessagesOf(db: Database, rows: ConversationRow[]): Promise<Map<string, MessageRow>> {
  const withMessages = rows.filter((r) => r.lastSeq > 0n);
  if (withMessages.length === 0) return new Map();
  const pairs = sql.join(
    withMessages.map((r) => sql`(${r.id}::uuid, ${r.lastSeq.toString()}::bigint)`),
    sql`, `,
  );
  const found = await db
    .select()
    .from(messages)
    .where(sql`(${messages.conversationId}, ${messages.seq}) in (${pairs})`);
  return new Map(found.map((m) => [m.conversationId, m]));
}

export async function membersOf(db: Database, conversationIds: string[]): Promise<Map<string, MemberRow[]>> {
  const byConversation = new Map<string, MemberRow[]>();
  if (conversationIds.length === 0) return byConversation;
  const rows = await db
    .select()
    .from(members)
    .where(inArray(members.conversationId, conversationIds))
    .orderBy(asc(members.joinedAt), asc(members.userId));
  for (const row of rows) {
    const list = byConversation.get(row.conversationId) ?? [];
    list.push(row);
    byConversation.set(row.conversationId, list);
  }
  return byConversation;
}

/** Last seq of each of `ids` the user is a member of (one query; others are absent). */
export async function headsOf(db: Database, userId: string, ids: string[]): Promise<Array<{ id: string; lastSeq: bigint }>> {
  if (ids.length === 0) return [];
  return db
    .select({ id: conversations.id, lastSeq: conversations.lastSeq })
    .from(members)
    .innerJoin(conversations, eq(conversations.id, members.conversationId))
    .where(and(eq(members.userId, userId), inArray(members.conversationId, ids)));
}
