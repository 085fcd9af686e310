/** parley.identity.v1.AuthService: accounts, email verification and sessions. */
import { timestampFromDate, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { AuthService } from "@parley/gen/parley/identity/v1/auth_pb";
import { requireUser, type PlatformDeps } from "@parley/platform";
import { dummyPasswordHash, hashPassword, verifyPassword } from "../domain/passwords.js";
import { looksLikeOpaqueToken } from "../domain/secrets.js";
import {
  checkPasswordStrength,
  EMAIL_MAX,
  normalizeDisplayName,
  normalizeEmail,
  normalizeUsername,
  PASSWORD_MAX,
} from "../domain/validation.js";
import { enqueueUserUpdated } from "../events/publish.js";
import type { Sessions } from "../sessions.js";
import { findUserByEmail, findUserByUsername, markEmailVerified } from "../store/users.js";
import { consumeVerificationToken } from "../store/verification-tokens.js";
import { clearLoginAttempts, limitLoginAttempts, limitVerificationMail, loginTarget } from "./auth-limits.js";
import { toUserWithEmail } from "./mappers.js";
import { registerAccount } from "./register.js";
import { resendVerificationMail } from "./resend-verification.js";

const invalid = (message: string) => new ConnectError(message, Code.InvalidArgument);
const WRONG_CREDENTIALS = "wrong login or password";
const BAD_VERIFICATION_TOKEN = "verification token is invalid, expired or already used";

export function authService(deps: PlatformDeps, sessions: Sessions): ServiceImpl<typeof AuthService> {
  const db = deps.database.db;
  return {
    async register(req) {
      const email = normalizeEmail(req.email);
      const username = normalizeUsername(req.username);
      const displayName = req.displayName === "" ? username : normalizeDisplayName(req.displayName);
      checkPasswordStrength(req.password, email, username);
      await limitVerificationMail(deps, email);
      const passwordHash = await hashPassword(req.password);
      return { user: await registerAccount(deps, { email, username, displayName, passwordHash }) };
    },

    async verifyEmail(req) {
      if (req.token === "") throw invalid("token is required");
      if (!looksLikeOpaqueToken(req.token)) throw invalid(BAD_VERIFICATION_TOKEN);
      const user = await db.transaction(async (tx) => {
        const userId = await consumeVerificationToken(tx, req.token);
        if (!userId) return undefined;
        const row = await markEmailVerified(tx, userId);
        await enqueueUserUpdated(tx, row);
        return row;
      });
      if (!user) throw invalid(BAD_VERIFICATION_TOKEN);
      return { user: toUserWithEmail(user) };
    },

    async resendVerification(req) {
      const email = normalizeEmail(req.email);
      await limitVerificationMail(deps, email);
      await resendVerificationMail(deps, email);
      return {};
    },

    async login(req) {
      const login = req.login.trim().toLowerCase();
      if (login === "") throw invalid("login is required");
      if (login.length > EMAIL_MAX) throw invalid(`login must be at most ${EMAIL_MAX} characters`);
      if (req.password === "") throw invalid("password is required");
      if (req.password.length > PASSWORD_MAX) throw invalid(`password must be at most ${PASSWORD_MAX} characters`);
      const user = login.includes("@") ? await findUserByEmail(db, login) : await findUserByUsername(db, login);
      const attemptsOf = loginTarget(user?.id, login);
      await limitLoginAttempts(deps, attemptsOf);
      // An unknown login still costs one argon2 verification, so response
      // time doesn't tell which accounts exist.
      const passwordOk = await verifyPassword(user?.passwordHash ?? (await dummyPasswordHash()), req.password);
      if (!user || !passwordOk) throw new ConnectError(WRONG_CREDENTIALS, Code.Unauthenticated);
      await clearLoginAttempts(deps, attemptsOf);
      if (user.emailVerifiedAt === null) {
        throw new ConnectError("email not verified; check your inbox or resend the verification email", Code.FailedPrecondition);
      }
      const session = await sessions.start(user.id);
      return {
        accessToken: session.accessToken,
        accessExpiresAt: timestampFromMs(session.accessExpiresAtMs),
        refreshToken: session.refreshToken,
        refreshExpiresAt: timestampFromDate(session.refreshExpiresAt),
        user: toUserWithEmail(user),
      };
    },

    async refresh(req) {
      const session = await sessions.rotate(req.refreshToken);
      return {
        accessToken: session.accessToken,
        accessExpiresAt: timestampFromMs(session.accessExpiresAtMs),
        refreshToken: session.refreshToken,
        refreshExpiresAt: timestampFromDate(session.refreshExpiresAt),
      };
    },

    async logout(req, ctx) {
      const me = requireUser(ctx);
      if (req.refreshToken !== "" && !looksLikeOpaqueToken(req.refreshToken)) throw invalid("refresh_token is malformed");
      await sessions.end(me, req.refreshToken);
      return {};
    },
  };
}
