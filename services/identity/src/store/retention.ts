/**
 * What identity deletes with age (run by the platform's retention runner):
 * inbox markers, and refresh/verification tokens once they can no longer be
 * used (expired) plus TOKEN_RETENTION for audits. Unexpired rotated or
 * revoked refresh tokens stay: reuse detection needs them. A session row
 * goes once it is older than TOKEN_RETENTION and none of its refresh tokens
 * is left: nothing can refresh or be revoked through it any more.
 */
import { deleteBatch, inboxRetentionJob, type Database, type PlatformConfig, type RetentionJob } from "@parley/platform";
import { and, lt, or, sql } from "drizzle-orm";
import { emailVerificationTokens, inbox, refreshTokens, sessions } from "./schema.js";

export function identityRetentionJobs(db: Database, retention: PlatformConfig["retention"]): RetentionJob[] {
  const cutoff = () => new Date(Date.now() - retention.tokenSec * 1000);
  return [
    inboxRetentionJob(db, inbox, retention.inboxSec * 1000),
    { name: "refresh_tokens", prune: (limit) => deleteBatch(db, refreshTokens, lt(refreshTokens.expiresAt, cutoff()), limit) },
    {
      name: "email_verification_tokens",
      prune: (limit) => {
        const before = cutoff();
        return deleteBatch(db, emailVerificationTokens, or(lt(emailVerificationTokens.expiresAt, before), lt(emailVerificationTokens.usedAt, before))!, limit);
      },
    },
    {
      name: "sessions",
      prune: (limit) =>
        deleteBatch(
          db,
          sessions,
          and(lt(sessions.createdAt, cutoff()), sql`not exists (select 1 from ${refreshTokens} where ${refreshTokens.familyId} = ${sessions.id})`)!,
          limit,
        ),
    },
  ];
}
