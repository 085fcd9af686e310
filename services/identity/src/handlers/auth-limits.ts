/**
 * Limits on what a public auth call targets, on top of the per-IP limit the
 * interceptor applies: an attacker with many IPs (or many accounts' tokens)
 * still gets few guesses at one account's password and can send few mails to
 * one address. Keys are the normalised target, so "Alice" and "alice" share
 * one; they never appear in logs.
 */
import { enforceRateLimit, scaledPolicy, type PlatformDeps } from "@parley/platform";

const loginKey = (target: string) => `rl:login-account:${target}`;
const mailKey = (email: string) => `rl:mail-recipient:${email}`;

/**
 * Counts a login attempt against the target account (loginTarget: its id when it
 * exists, so username and email logins share one budget; else the normalised login).
 * Called before the password is checked: a limited call tests no password.
 */
export function loginTarget(userId: string | undefined, login: string): string {
  return userId !== undefined ? `u:${userId}` : `login:${login}`;
}

export async function limitLoginAttempts(deps: PlatformDeps, target: string): Promise<void> {
  await enforceRateLimit(deps.rateLimiter, loginKey(target), scaledPolicy("login-account", deps.config.rateLimitScale));
}

/** A successful login: the owner's earlier typos no longer count. */
export async function clearLoginAttempts(deps: PlatformDeps, target: string): Promise<void> {
  // Best effort: a failed reset only leaves attempts that expire by themselves.
  await deps.rateLimiter.reset(loginKey(target)).catch((err: unknown) => deps.logger.warn({ err }, "login attempts not reset"));
}

/** Counts a verification mail to `email` (normalised), whoever asks for it and whether or not the account exists. */
export async function limitVerificationMail(deps: PlatformDeps, email: string): Promise<void> {
  await enforceRateLimit(deps.rateLimiter, mailKey(email), scaledPolicy("mail-recipient", deps.config.rateLimitScale));
}
