/** Refresh tokens, grouped in families (one family = one login session). */
import { randomUUID } from "node:crypto";
import { and, eq, isNull, sql } from "drizzle-orm";
import type { Database } from "@parley/platform";
import { hashToken, newOpaqueToken } from "../domain/secrets.js";
import { refreshTokens } from "./schema.js";

export type RefreshTokenRow = typeof refreshTokens.$inferSelect;

export interface IssuedRefreshToken {
  token: string;
  familyId: string;
  expiresAt: Date;
}

export async function issueRefreshToken(
  tx: Database,
  opts: { userId: string; familyId: string; ttlSec: number },
): Promise<IssuedRefreshToken> {
  const token = newOpaqueToken();
  const expiresAt = new Date(Date.now() + opts.ttlSec * 1000);
  await tx.insert(refreshTokens).values({
    id: randomUUID(),
    familyId: opts.familyId,
    userId: opts.userId,
    tokenHash: hashToken(token),
    expiresAt,
  });
  return { token, familyId: opts.familyId, expiresAt };
}

/** Row-locks the token so two concurrent refreshes with it are serialised: one rotates, the other sees reuse. */
export async function lockRefreshToken(tx: Database, token: string): Promise<RefreshTokenRow | undefined> {
  const [row] = await tx
    .select()
    .from(refreshTokens)
    .where(eq(refreshTokens.tokenHash, hashToken(token)))
    .limit(1)
    .for("update");
  return row;
}

export async function findRefreshToken(db: Database, token: string): Promise<RefreshTokenRow | undefined> {
  const [row] = await db.select().from(refreshTokens).where(eq(refreshTokens.tokenHash, hashToken(token))).limit(1);
  return row;
}

export async function markRefreshTokenUsed(tx: Database, id: string): Promise<void> {
  await tx.update(refreshTokens).set({ usedAt: sql`now()` }).where(eq(refreshTokens.id, id));
}

/** Revokes every not-yet-revoked token of the user's family. */
export async function revokeFamily(tx: Database, userId: string, familyId: string): Promise<void> {
  await tx
    .update(refreshTokens)
    .set({ revokedAt: sql`now()` })
    .where(and(eq(refreshTokens.familyId, familyId), eq(refreshTokens.userId, userId), isNull(refreshTokens.revokedAt)));
}
