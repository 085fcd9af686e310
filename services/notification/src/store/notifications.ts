/** Queries on the notification feed. Every function takes the caller's user id: rows are never read across users. */
import { and, count, desc, eq, inArray, isNull, sql } from "drizzle-orm";
import { randomUUID } from "node:crypto";
import type { Database } from "@parley/platform";
import { kindName, type StoredNotificationKind } from "./kinds.js";
import type { PagePosition } from "./page-token.js";
import { notifications, type NotificationRow } from "./schema.js";

export interface NewNotification {
  userId: string;
  kind: StoredNotificationKind;
  actorId: string;
  conversationId?: string;
  messageId?: string;
  friendRequestId?: string;
  preview?: string;
  /** The bus event id that caused it. */
  sourceEventId: string;
}

/**
 * Returns only the rows actually inserted: a (user, source event) pair already stored is skipped.
 * Not for NEW_MESSAGE, which has one row per conversation (message-notifications.ts).
 */
export async function insertNotifications(tx: Database, items: NewNotification[]): Promise<NotificationRow[]> {
  if (items.length === 0) return [];
  const createdAt = new Date();
  return tx
    .insert(notifications)
    .values(
      items.map((n) => ({
        id: randomUUID(),
        userId: n.userId,
        kind: kindName(n.kind),
        actorId: n.actorId,
        conversationId: n.conversationId ?? "",
        messageId: n.messageId ?? "",
        friendRequestId: n.friendRequestId ?? "",
        preview: n.preview ?? "",
        sourceEventId: n.sourceEventId,
        createdAt,
      })),
    )
    .onConflictDoNothing({ target: [notifications.userId, notifications.sourceEventId] })
    .returning();
}

export async function listNotifications(
  db: Database,
  userId: string,
  opts: { limit: number; unreadOnly: boolean; after: PagePosition | undefined },
): Promise<NotificationRow[]> {
  const conditions = [eq(notifications.userId, userId)];
  if (opts.unreadOnly) conditions.push(isNull(notifications.readAt));
  if (opts.after) {
    conditions.push(
      sql`(${notifications.createdAt}, ${notifications.id}) < (${opts.after.createdAt.toISOString()}::timestamptz, ${opts.after.id}::uuid)`,
    );
  }
  return db
    .select()
    .from(notifications)
    .where(and(...conditions))
    .orderBy(desc(notifications.createdAt), desc(notifications.id))
    .limit(opts.limit);
}

/** The subset of `ids` that are notifications of `userId`. */
export async function ownedNotificationIds(db: Database, userId: string, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await db
    .select({ id: notifications.id })
    .from(notifications)
    .where(and(eq(notifications.userId, userId), inArray(notifications.id, ids)));
  return new Set(rows.map((r) => r.id));
}

/**
 * Marks the given notifications (or all, with `"all"`) of `userId` read; already-read ones keep their first read time.
 * A NEW_MESSAGE row's count of unread messages goes back to 0; its next message makes it unread again.
 */
export async function markRead(tx: Database, userId: string, ids: string[] | "all"): Promise<void> {
  const conditions = [eq(notifications.userId, userId), isNull(notifications.readAt)];
  if (ids !== "all") {
    if (ids.length === 0) return;
    conditions.push(inArray(notifications.id, ids));
  }
  await tx.update(notifications).set({ readAt: new Date(), unreadMessages: 0 }).where(and(...conditions));
}

export async function countUnread(db: Database, userId: string): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(notifications)
    .where(and(eq(notifications.userId, userId), isNull(notifications.readAt)));
  return row?.n ?? 0;
}
