/**
 * Register, shaped so the answer never tells whether an email is registered
 * (OWASP authentication cheat sheet, NIST SP 800-63B): every accepted call
 * answers "created, check your mail", and the mail says what happened.
 *
 * - New address: the account is created and a verification mail goes out.
 * - Address of a verified account: nothing changes; the owner gets a
 *   "someone tried to register with your address" mail.
 * - Address of an unverified account: that pending registration is replaced
 *   by this one (new id, credentials and link). The latest registration of an
 *   unverified address wins, so someone who pre-registers another person's
 *   address can't keep their password on it once that person registers.
 * - Usernames are public, so a taken username still answers `already_exists`;
 *   the answer depends on the username alone, never on the email.
 *
 * Expired unverified accounts holding the email or username are released in
 * the same transaction (the sweep would delete them anyway).
 */
import { randomUUID } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import type { User } from "@parley/gen/parley/identity/v1/user_pb";
import { verificationTokenKey, type Database, type PlatformDeps } from "@parley/platform";
import { violatedUniqueIndex } from "../domain/errors.js";
import { enqueueRegistrationAttempted, enqueueUserDeleted, enqueueVerificationMail } from "../events/publish.js";
import type { UserRow } from "../store/schema.js";
import { deleteUnverified, releaseExpiredHolders, verificationDeadline } from "../store/unverified-accounts.js";
import { findUserByEmail, findUserByUsername, insertUser, markEmailVerified } from "../store/users.js";
import { issueVerificationToken } from "../store/verification-tokens.js";
import { toUserWithEmail } from "./mappers.js";

export interface NewAccount {
  email: string;
  username: string;
  displayName: string;
  passwordHash: string;
}

const USERNAME_TAKEN = "username is already taken";

export async function registerAccount(deps: PlatformDeps, account: NewAccount): Promise<User> {
  const { config } = deps;
  // Read before writing anything: a missing key is a configuration error, not a half-done register.
  const key = config.emailVerification ? verificationTokenKey(config) : undefined;
  // A concurrent Register of the same new address loses the unique-index race; the second
  // attempt then sees the winner's account and takes the "address known" path, so the loser
  // gets the same answer too.
  for (let attempt = 1; ; attempt++) {
    try {
      return await deps.database.db.transaction((tx) => registerOnce(tx, deps, account, key));
    } catch (err) {
      const index = violatedUniqueIndex(err);
      if (index === "users_username_lower_key") throw new ConnectError(USERNAME_TAKEN, Code.AlreadyExists);
      if (index === "users_email_lower_key" && attempt < 2) continue;
      throw err;
    }
  }
}

async function registerOnce(tx: Database, deps: PlatformDeps, account: NewAccount, key: Uint8Array | undefined): Promise<User> {
  const ttlSec = deps.config.emailVerificationTtlSec;
  for (const id of await releaseExpiredHolders(tx, ttlSec, account)) await enqueueUserDeleted(tx, id);

  const existing = await findUserByEmail(tx, account.email);
  const usernameHolder = await findUserByUsername(tx, account.username);
  // The pending registration this one replaces may hold the username itself.
  const replacing = existing !== undefined && existing.emailVerifiedAt === null;
  if (usernameHolder && !(replacing && usernameHolder.id === existing.id)) {
    throw new ConnectError(USERNAME_TAKEN, Code.AlreadyExists);
  }

  if (existing && !replacing) {
    await enqueueRegistrationAttempted(tx, existing);
    return lookalike(account, deps.config.emailVerification);
  }
  if (existing) {
    await deleteUnverified(tx, existing.id);
    await enqueueUserDeleted(tx, existing.id);
  }

  const row = await insertUser(tx, { id: randomUUID(), ...account });
  if (!key) return toUserWithEmail(await markEmailVerified(tx, row.id));
  const token = await issueVerificationToken(tx, row.id, verificationDeadline(row, ttlSec));
  await enqueueVerificationMail(tx, "registered", row, token, key);
  return toUserWithEmail(row);
}

/** What a new account's answer looks like, for an address that already has a verified account. */
function lookalike(account: NewAccount, emailVerificationOn: boolean): User {
  const now = new Date();
  const row: UserRow = {
    id: randomUUID(),
    email: account.email,
    username: account.username,
    displayName: account.displayName,
    passwordHash: "",
    emailVerifiedAt: emailVerificationOn ? null : now,
    createdAt: now,
  };
  return toUserWithEmail(row);
}
