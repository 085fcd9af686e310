/**
 * Refresh tokens, grouped in families (one family = one login session, a row
 * in `sessions`). Callers hold the session's row lock (store/sessions.ts)
 * around every change made here.
 */
import { randomUUID } from "node:crypto";
import { eq, getTableColumns, sql } from "drizzle-orm";
import type { Database } from "@parley/platform";
import { hashToken, newOpaqueToken } from "../domain/secrets.js";
import { refreshTokens } from "./schema.js";

export type RefreshTokenRow = typeof refreshTokens.$inferSelect;

export interface IssuedRefreshToken {
  id: string;
  token: string;
  familyId: string;
  expiresAt: Date;
}

export async function issueRefreshToken(
  tx: Database,
  opts: { userId: string; familyId: string; ttlSec: number },
): Promise<IssuedRefreshToken> {
  const id = randomUUID();
  const token = newOpaqueToken();
  const expiresAt = new Date(Date.now() + opts.ttlSec * 1000);
  await tx.insert(refreshTokens).values({
    id,
    familyId: opts.familyId,
    userId: opts.userId,
    tokenHash: hashToken(token),
    expiresAt,
  });
  return { id, token, familyId: opts.familyId, expiresAt };
}

export async function findRefreshToken(db: Database, token: string): Promise<RefreshTokenRow | undefined> {
  const [row] = await db.select().from(refreshTokens).where(eq(refreshTokens.tokenHash, hashToken(token))).limit(1);
  return row;
}

export async function findRefreshTokenById(db: Database, id: string): Promise<RefreshTokenRow | undefined> {
  const [row] = await db.select().from(refreshTokens).where(eq(refreshTokens.id, id)).limit(1);
  return row;
}

/**
 * The token's row, plus whether it was rotated less than `graceSec` ago. The
 * database's clock decides (used_at is set by it too), so identity replicas
 * with skewed clocks agree.
 */
export async function findRefreshTokenWithGrace(
  db: Database,
  token: string,
  graceSec: number,
): Promise<(RefreshTokenRow & { rotatedWithinGrace: boolean }) | undefined> {
  const [row] = await db
    .select({
      ...getTableColumns(refreshTokens),
      rotatedWithinGrace: sql<boolean>`coalesce(${refreshTokens.usedAt} > now() - make_interval(secs => cast(${graceSec} as double precision)), false)`,
    })
    .from(refreshTokens)
    .where(eq(refreshTokens.tokenHash, hashToken(token)))
    .limit(1);
  return row;
}

/**
 * Marks the token rotated to `successorId`, keeping the successor sealed for
 * grace retries; the token's own predecessor can no longer be answered with
 * this one (it is used now), so its seal is dropped.
 */
export async function markRefreshTokenRotated(tx: Database, id: string, successorId: string, successorSealed: string): Promise<void> {
  await tx.update(refreshTokens).set({ usedAt: sql`now()`, successorId, successorSealed }).where(eq(refreshTokens.id, id));
  await tx.update(refreshTokens).set({ successorSealed: null }).where(eq(refreshTokens.successorId, id));
}

/** Revokes every token of the family and drops its sealed successors. */
export async function revokeFamilyTokens(tx: Database, familyId: string): Promise<void> {
  await tx
    .update(refreshTokens)
    .set({ revokedAt: sql`coalesce(${refreshTokens.revokedAt}, now())`, successorSealed: null })
    .where(eq(refreshTokens.familyId, familyId));
}
