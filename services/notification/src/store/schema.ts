/**
 * notification's tables, all in its own Postgres schema. Ids of users,
 * conversations, messages and friend requests belong to identity and chat, so
 * they are stored as opaque text and never joined to those services' tables.
 */
import { bigint, index, integer, pgSchema, primaryKey, text, timestamp, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { sql } from "drizzle-orm";
import { inboxTable, outboxTable } from "@parley/platform";

export const notificationSchema = pgSchema("notification");

export const notifications = notificationSchema.table(
  "notifications",
  {
    id: uuid("id").primaryKey(),
    userId: text("user_id").notNull(),
    /** One of the `NotificationKindName`s in ./kinds.ts. */
    kind: text("kind").notNull(),
    actorId: text("actor_id").notNull(),
    conversationId: text("conversation_id").notNull().default(""),
    messageId: text("message_id").notNull().default(""),
    friendRequestId: text("friend_request_id").notNull().default(""),
    preview: text("preview").notNull().default(""),
    /**
     * new_message only: messages of the conversation since the member last read this notification
     * (0 once read). One such row per (user, conversation), updated by each later message.
     */
    unreadMessages: integer("unread_messages").notNull().default(0),
    /** new_message only: seq of `messageId`, so a late redelivery of an older message cannot replace the newest one. */
    messageSeq: bigint("message_seq", { mode: "bigint" }).notNull().default(sql`0`),
    /** The (latest) event that caused it: a second copy of that event for the same user is dropped. */
    sourceEventId: text("source_event_id").notNull(),
    // Millisecond precision, so the value a page token carries compares exactly.
    createdAt: timestamp("created_at", { withTimezone: true, precision: 3 }).notNull(),
    readAt: timestamp("read_at", { withTimezone: true, precision: 3 }),
  },
  (t) => [
    index("notifications_user_created_idx").on(t.userId, t.createdAt.desc(), t.id.desc()),
    index("notifications_user_unread_idx").on(t.userId).where(sql`${t.readAt} is null`),
    uniqueIndex("notifications_user_source_event_uq").on(t.userId, t.sourceEventId),
    // The one new_message row per (user, conversation) that later messages update (store/message-notifications.ts).
    uniqueIndex("notifications_user_conversation_new_message_uq").on(t.userId, t.conversationId).where(sql`${t.kind} = 'new_message'`),
    // Retention deletes read notifications by age (store/retention.ts).
    index("notifications_read_at_idx").on(t.readAt).where(sql`${t.readAt} is not null`),
  ],
);

/** Projection of identity's block events: who has blocked whom. */
export const blocks = notificationSchema.table(
  "blocks",
  {
    blockerId: text("blocker_id").notNull(),
    blockedId: text("blocked_id").notNull(),
  },
  (t) => [primaryKey({ columns: [t.blockerId, t.blockedId] })],
);

export const outbox = outboxTable(notificationSchema);
export const inbox = inboxTable(notificationSchema);

export type NotificationRow = typeof notifications.$inferSelect;
