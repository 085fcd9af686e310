/**
 * Login sessions (one row per refresh-token family). The row is the lock that
 * serialises everything that changes a session: rotation, grace re-issue,
 * reuse detection and logout all take it `FOR UPDATE` first.
 */
import { eq, inArray, sql } from "drizzle-orm";
import type { Database } from "@parley/platform";
import { sessions, type SessionRevokeReason, type SessionRow } from "./schema.js";

export async function insertSession(tx: Database, session: { id: string; userId: string }): Promise<void> {
  await tx.insert(sessions).values(session);
}

/**
 * Locks the sessions (in id order, so two callers locking overlapping sets
 * can't deadlock) and returns the rows that exist.
 */
export async function lockSessions(tx: Database, ids: string[]): Promise<SessionRow[]> {
  if (ids.length === 0) return [];
  return tx
    .select()
    .from(sessions)
    .where(inArray(sessions.id, [...new Set(ids)].sort()))
    .orderBy(sessions.id)
    .for("update");
}

export async function lockSession(tx: Database, id: string): Promise<SessionRow | undefined> {
  const [row] = await lockSessions(tx, [id]);
  return row;
}

export async function markSessionRevoked(tx: Database, id: string, reason: SessionRevokeReason): Promise<void> {
  await tx.update(sessions).set({ revokedAt: sql`now()`, revokedReason: reason }).where(eq(sessions.id, id));
}
