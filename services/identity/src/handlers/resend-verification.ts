/** ResendVerification: one answer (empty) for unknown, verified, unverified and expired addresses. */
import { verificationTokenKey, type PlatformDeps } from "@parley/platform";
import { enqueueVerificationMail } from "../events/publish.js";
import { isExpiredUnverified, verificationDeadline } from "../store/unverified-accounts.js";
import { findUserByEmail } from "../store/users.js";
import { issueVerificationToken } from "../store/verification-tokens.js";

export async function resendVerificationMail(deps: PlatformDeps, email: string): Promise<void> {
  const { config } = deps;
  // With verification off every account is verified on register: there is nothing to resend.
  if (!config.emailVerification) return;
  const key = verificationTokenKey(config);
  const ttlSec = config.emailVerificationTtlSec;
  await deps.database.db.transaction(async (tx) => {
    const user = await findUserByEmail(tx, email);
    // An expired account is about to be swept; a link for it would die with it.
    if (!user || user.emailVerifiedAt !== null || isExpiredUnverified(user, ttlSec)) return;
    const token = await issueVerificationToken(tx, user.id, verificationDeadline(user, ttlSec));
    await enqueueVerificationMail(tx, "resend", user, token, key);
  });
}
