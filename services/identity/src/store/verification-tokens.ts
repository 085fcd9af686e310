/** Email verification tokens: single-use, expiring, stored as SHA-256. */
import { randomUUID } from "node:crypto";
import { and, eq, gt, isNull, sql } from "drizzle-orm";
import type { Database } from "@parley/platform";
import { hashToken, newOpaqueToken } from "../domain/secrets.js";
import { emailVerificationTokens } from "./schema.js";

/**
 * Issues a new token and voids every earlier one of the user: only the latest link works.
 * `expiresAt` is the account's verification deadline (see unverified-accounts.ts): no link
 * outlives the account it verifies.
 */
export async function issueVerificationToken(tx: Database, userId: string, expiresAt: Date): Promise<string> {
  await tx
    .update(emailVerificationTokens)
    .set({ usedAt: sql`now()` })
    .where(and(eq(emailVerificationTokens.userId, userId), isNull(emailVerificationTokens.usedAt)));
  const token = newOpaqueToken();
  await tx.insert(emailVerificationTokens).values({
    id: randomUUID(),
    userId,
    tokenHash: hashToken(token),
    expiresAt,
  });
  return token;
}

/**
 * Marks the token used and returns its user, or undefined if it is unknown,
 * used or expired. One conditional UPDATE, so two concurrent uses can't both win.
 */
export async function consumeVerificationToken(tx: Database, token: string): Promise<string | undefined> {
  const [row] = await tx
    .update(emailVerificationTokens)
    .set({ usedAt: sql`now()` })
    .where(
      and(
        eq(emailVerificationTokens.tokenHash, hashToken(token)),
        isNull(emailVerificationTokens.usedAt),
        gt(emailVerificationTokens.expiresAt, sql`now()`),
      ),
    )
    .returning({ userId: emailVerificationTokens.userId });
  return row?.userId;
}
