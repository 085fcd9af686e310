/**
 * identity's tables, all in the `identity` Postgres schema. Trigram indexes
 * for SearchUsers live in the custom `trgm` migration: they need the pg_trgm
 * extension, which drizzle-kit cannot declare.
 */
import { sql } from "drizzle-orm";
import { check, index, pgSchema, primaryKey, text, timestamp, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { inboxTable, outboxTable } from "@parley/platform";

export const identity = pgSchema("identity");

const at = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });

export const users = identity.table(
  "users",
  {
    id: uuid("id").primaryKey(),
    /** Stored lowercased; the unique index on lower() still guards writers that forget. */
    email: text("email").notNull(),
    username: text("username").notNull(),
    displayName: text("display_name").notNull(),
    passwordHash: text("password_hash").notNull(),
    emailVerifiedAt: at("email_verified_at"),
    createdAt: at("created_at").notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("users_email_lower_key").on(sql`lower(${t.email})`),
    uniqueIndex("users_username_lower_key").on(sql`lower(${t.username})`),
    // The expiry sweep reads unverified accounts oldest first (src/unverified-sweep.ts).
    index("users_unverified_created_idx").on(t.createdAt).where(sql`${t.emailVerifiedAt} is null`),
  ],
);

/** Only the SHA-256 of each token is stored: a database leak yields no usable links. */
export const emailVerificationTokens = identity.table(
  "email_verification_tokens",
  {
    id: uuid("id").primaryKey(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    tokenHash: text("token_hash").notNull(),
    expiresAt: at("expires_at").notNull(),
    usedAt: at("used_at"),
    createdAt: at("created_at").notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("email_verification_tokens_hash_key").on(t.tokenHash),
    index("email_verification_tokens_user_idx").on(t.userId),
    // Retention deletes expired tokens by age (store/retention.ts).
    index("email_verification_tokens_expires_idx").on(t.expiresAt),
  ],
);

export const SESSION_REVOKE_REASONS = ["logout", "reuse_detected"] as const;
export type SessionRevokeReason = (typeof SESSION_REVOKE_REASONS)[number];

/**
 * One row per login session (= refresh-token family, = access token `sid`).
 * Refresh, Logout and reuse detection lock this row (`FOR UPDATE`), so a
 * rotation and a revocation of one session never interleave, and
 * `revoked_at` is final: no token of a revoked session is ever accepted again,
 * whatever state its own row is in.
 */
export const sessions = identity.table(
  "sessions",
  {
    id: uuid("id").primaryKey(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    createdAt: at("created_at").notNull().defaultNow(),
    revokedAt: at("revoked_at"),
    revokedReason: text("revoked_reason", { enum: SESSION_REVOKE_REASONS }),
  },
  (t) => [index("sessions_user_idx").on(t.userId)],
);

/**
 * One row per issued refresh token. A family is one login session: every
 * rotation adds a row to it, and the family id is the access token's `sid`.
 * `successor_sealed` is the token this one was rotated to, AES-GCM-encrypted
 * under a key derived from this (never stored) token: it lets a retry within
 * the reuse grace get the same successor back (README, "Refresh grace").
 */
export const refreshTokens = identity.table(
  "refresh_tokens",
  {
    id: uuid("id").primaryKey(),
    familyId: uuid("family_id")
      .notNull()
      .references(() => sessions.id, { onDelete: "cascade" }),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    tokenHash: text("token_hash").notNull(),
    expiresAt: at("expires_at").notNull(),
    usedAt: at("used_at"),
    revokedAt: at("revoked_at"),
    successorId: uuid("successor_id"),
    successorSealed: text("successor_sealed"),
    createdAt: at("created_at").notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("refresh_tokens_hash_key").on(t.tokenHash),
    index("refresh_tokens_family_idx").on(t.familyId),
    index("refresh_tokens_user_idx").on(t.userId),
    // Retention deletes expired tokens by age (store/retention.ts).
    index("refresh_tokens_expires_idx").on(t.expiresAt),
  ],
);

export const FRIEND_REQUEST_STATUSES = ["pending", "accepted", "rejected", "canceled"] as const;
export type FriendRequestStatusName = (typeof FRIEND_REQUEST_STATUSES)[number];

export const friendRequests = identity.table(
  "friend_requests",
  {
    id: uuid("id").primaryKey(),
    fromUserId: uuid("from_user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    toUserId: uuid("to_user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    status: text("status", { enum: FRIEND_REQUEST_STATUSES }).notNull().default("pending"),
    createdAt: at("created_at").notNull().defaultNow(),
    respondedAt: at("responded_at"),
  },
  (t) => [
    // At most one pending request per unordered pair, whoever sent it: the
    // race A→B / B→A ends in a unique violation instead of two requests.
    uniqueIndex("friend_requests_pending_pair_key")
      .on(sql`least(${t.fromUserId}, ${t.toUserId})`, sql`greatest(${t.fromUserId}, ${t.toUserId})`)
      .where(sql`status = 'pending'`),
    index("friend_requests_to_status_idx").on(t.toUserId, t.status),
    index("friend_requests_from_status_idx").on(t.fromUserId, t.status),
    check("friend_requests_not_self", sql`${t.fromUserId} <> ${t.toUserId}`),
    check("friend_requests_status_valid", sql`${t.status} in ('pending', 'accepted', 'rejected', 'canceled')`),
  ],
);

/** One row per friendship, ordered pair (user_a < user_b) so it can't be stored twice. */
export const friendships = identity.table(
  "friendships",
  {
    userAId: uuid("user_a_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    userBId: uuid("user_b_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    createdAt: at("created_at").notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.userAId, t.userBId] }),
    index("friendships_user_b_idx").on(t.userBId),
    check("friendships_ordered", sql`${t.userAId} < ${t.userBId}`),
  ],
);

export const blocks = identity.table(
  "blocks",
  {
    blockerId: uuid("blocker_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    blockedId: uuid("blocked_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    createdAt: at("created_at").notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.blockerId, t.blockedId] }),
    index("blocks_blocked_idx").on(t.blockedId),
    check("blocks_not_self", sql`${t.blockerId} <> ${t.blockedId}`),
  ],
);

export const outbox = outboxTable(identity);
export const inbox = inboxTable(identity);

export type UserRow = typeof users.$inferSelect;
export type FriendRequestRow = typeof friendRequests.$inferSelect;
export type SessionRow = typeof sessions.$inferSelect;
