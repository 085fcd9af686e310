/**
 * Accounts that were never verified. They hold an email and a username but
 * can't log in and are invisible to others, so they expire: `created_at +
 * EMAIL_VERIFICATION_TTL` is the deadline of the account and of every link
 * mailed for it, after which the sweep (or a Register that needs the email or
 * username) deletes the row and its tokens (ON DELETE CASCADE).
 */
import { and, eq, inArray, isNull, lt, or, sql } from "drizzle-orm";
import type { Database } from "@parley/platform";
import { users, type UserRow } from "./schema.js";

/** When an unverified account (and each link mailed for it) stops working. */
export function verificationDeadline(user: Pick<UserRow, "createdAt">, ttlSec: number): Date {
  return new Date(user.createdAt.getTime() + ttlSec * 1000);
}

export function isExpiredUnverified(user: Pick<UserRow, "createdAt" | "emailVerifiedAt">, ttlSec: number, now = new Date()): boolean {
  return user.emailVerifiedAt === null && verificationDeadline(user, ttlSec) <= now;
}

const expired = (ttlSec: number) =>
  and(isNull(users.emailVerifiedAt), lt(users.createdAt, sql`now() - make_interval(secs => ${ttlSec}::double precision)`));

/**
 * Deletes up to `limit` expired unverified accounts, oldest first, and returns
 * their ids. SKIP LOCKED lets several identity replicas sweep side by side.
 */
export async function deleteExpiredUnverified(tx: Database, ttlSec: number, limit: number): Promise<string[]> {
  const victims = await tx
    .select({ id: users.id })
    .from(users)
    .where(expired(ttlSec))
    .orderBy(users.createdAt)
    .limit(limit)
    .for("update", { skipLocked: true });
  if (victims.length === 0) return [];
  const deleted = await tx
    .delete(users)
    .where(and(inArray(users.id, victims.map((v) => v.id)), isNull(users.emailVerifiedAt)))
    .returning({ id: users.id });
  return deleted.map((d) => d.id);
}

/** Deletes the expired unverified holders of this email or username (at most one each), so Register can take them. */
export async function releaseExpiredHolders(tx: Database, ttlSec: number, holder: { email: string; username: string }): Promise<string[]> {
  const deleted = await tx
    .delete(users)
    .where(
      and(
        expired(ttlSec),
        or(sql`lower(${users.email}) = ${holder.email.toLowerCase()}`, sql`lower(${users.username}) = ${holder.username.toLowerCase()}`),
      ),
    )
    .returning({ id: users.id });
  return deleted.map((d) => d.id);
}

/** Deletes one unverified account (a newer registration of its address replaces it). */
export async function deleteUnverified(tx: Database, userId: string): Promise<boolean> {
  const deleted = await tx
    .delete(users)
    .where(and(eq(users.id, userId), isNull(users.emailVerifiedAt)))
    .returning({ id: users.id });
  return deleted.length > 0;
}
