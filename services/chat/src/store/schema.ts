/**
 * Chat's tables, all in the `chat` Postgres schema. Nothing here is read by
 * another service, and chat never reads theirs: friendships and blocks are a
 * projection of identity's events.
 */
import { sql } from "drizzle-orm";
import {
  bigint,
  boolean,
  check,
  customType,
  index,
  integer,
  pgSchema,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";
import { inboxTable, outboxTable } from "@parley/platform";

export const chat = pgSchema("chat");

export const outbox = outboxTable(chat);
export const inbox = inboxTable(chat);

/** Millisecond precision so a JS Date round-trips exactly (keyset cursors compare these). */
const instant = (name: string) => timestamp(name, { withTimezone: true, precision: 3, mode: "date" });

const tsvector = customType<{ data: string }>({ dataType: () => "tsvector" });

/** Projection of `parley.identity.friendship.*`: one row per pair, user_a < user_b (as identity sends it). */
export const friendships = chat.table(
  "friendships",
  {
    userA: uuid("user_a").notNull(),
    userB: uuid("user_b").notNull(),
    since: instant("since").notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.userA, t.userB] }), check("friendships_ordered", sql`${t.userA} < ${t.userB}`)],
);

/** Projection of `parley.identity.block.*`. "Blocked either way" = two pk lookups. */
export const blocks = chat.table(
  "blocks",
  {
    blockerId: uuid("blocker_id").notNull(),
    blockedId: uuid("blocked_id").notNull(),
    since: instant("since").notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.blockerId, t.blockedId] })],
);

export const conversations = chat.table(
  "conversations",
  {
    id: uuid("id").primaryKey(),
    kind: text("kind", { enum: ["direct", "group"] }).notNull(),
    title: text("title").notNull().default(""),
    // The ordered member pair of a direct chat (lo < hi); null for groups. The
    // unique index on it makes concurrent OpenDirect calls converge on one row.
    directLo: uuid("direct_lo"),
    directHi: uuid("direct_hi"),
    createdBy: uuid("created_by").notNull(),
    createdAt: instant("created_at").notNull(),
    lastActivityAt: instant("last_activity_at").notNull(),
    // Highest seq handed out; incremented under this row's lock, so seqs are gap-free.
    lastSeq: bigint("last_seq", { mode: "bigint" }).notNull().default(sql`0`),
    // Maintained under this row's lock by every membership change.
    memberCount: integer("member_count").notNull().default(0),
  },
  (t) => [
    check("conversations_kind", sql`${t.kind} in ('direct', 'group')`),
    check(
      "conversations_direct_pair",
      sql`(${t.kind} = 'direct') = (${t.directLo} is not null and ${t.directHi} is not null)`,
    ),
    uniqueIndex("conversations_direct_pair_key").on(t.directLo, t.directHi),
    index("conversations_title_trgm").using("gin", t.title.op("gin_trgm_ops")),
  ],
);

export const members = chat.table(
  "members",
  {
    conversationId: uuid("conversation_id")
      .notNull()
      .references(() => conversations.id, { onDelete: "cascade" }),
    userId: uuid("user_id").notNull(),
    role: text("role", { enum: ["member", "admin"] }).notNull(),
    joinedAt: instant("joined_at").notNull(),
    // Messages with seq <= read_seq count as read; unread = last_seq - read_seq.
    readSeq: bigint("read_seq", { mode: "bigint" }).notNull().default(sql`0`),
  },
  (t) => [
    primaryKey({ columns: [t.conversationId, t.userId] }),
    // Drives ListConversations and every "conversations I belong to" filter.
    uniqueIndex("members_user_conversation").on(t.userId, t.conversationId),
    check("members_role", sql`${t.role} in ('member', 'admin')`),
  ],
);

export const messages = chat.table(
  "messages",
  {
    conversationId: uuid("conversation_id")
      .notNull()
      .references(() => conversations.id, { onDelete: "cascade" }),
    seq: bigint("seq", { mode: "bigint" }).notNull(),
    id: uuid("id").notNull(),
    senderId: uuid("sender_id").notNull(),
    clientMessageId: text("client_message_id").notNull(),
    text: text("text").notNull(),
    replyToMessageId: uuid("reply_to_message_id"),
    forwardedFromConversationId: uuid("forwarded_from_conversation_id"),
    forwardedFromMessageId: uuid("forwarded_from_message_id"),
    forwardedFromSenderId: uuid("forwarded_from_sender_id"),
    createdAt: instant("created_at").notNull(),
    editedAt: instant("edited_at"),
    deleted: boolean("deleted").notNull().default(false),
    search: tsvector("search")
      .notNull()
      .generatedAlwaysAs(sql`to_tsvector('simple', "text")`),
  },
  (t) => [
    // A page of history is one range scan of this index.
    primaryKey({ columns: [t.conversationId, t.seq] }),
    uniqueIndex("messages_id_key").on(t.id),
    // Idempotent sends: a retry with the same client id finds the original.
    uniqueIndex("messages_sender_client_id_key").on(t.senderId, t.clientMessageId),
    index("messages_search").using("gin", t.search),
  ],
);

export const invites = chat.table(
  "invites",
  {
    code: text("code").primaryKey(),
    conversationId: uuid("conversation_id")
      .notNull()
      .references(() => conversations.id, { onDelete: "cascade" }),
    createdBy: uuid("created_by").notNull(),
    createdAt: instant("created_at").notNull(),
    expiresAt: instant("expires_at").notNull(),
    // 0 = unlimited.
    maxUses: integer("max_uses").notNull().default(0),
    uses: integer("uses").notNull().default(0),
    revokedAt: instant("revoked_at"),
  },
  (t) => [index("invites_conversation").on(t.conversationId)],
);

export type ConversationRow = typeof conversations.$inferSelect;
export type MemberRow = typeof members.$inferSelect;
export type MessageRow = typeof messages.$inferSelect;
export type InviteRow = typeof invites.$inferSelect;
