/**
 * Login sessions: a row in `sessions`, a refresh-token family, and the
 * short-lived access tokens signed for it (`sid` = session id). Refresh tokens
 * rotate on every use. Presenting one that was already rotated means it was
 * copied, so the whole session dies, here and in the shared revocation store
 * — unless it comes back within the grace window and its successor is still
 * unused: that is a client retrying after a lost response, and it gets the
 * same successor again.
 *
 * Every change to a session (rotation, grace re-issue, reuse detection,
 * logout) first locks its `sessions` row, so they run one after another:
 * a revocation can't miss a token a concurrent rotation is about to commit,
 * and a rotation can't start from a revoked session. Access tokens are signed
 * while that lock is held, so each one expires before the revocation of its
 * `sid` in the shared store does.
 */
import { randomUUID } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { revocationIds, type AccessClaims, type Database, type PlatformDeps, type RevocationStore, type TokenSigner } from "@parley/platform";
import { hashToken, looksLikeOpaqueToken } from "./domain/secrets.js";
import { openSuccessor, sealSuccessor } from "./domain/successor-seal.js";
import { enqueueSessionRevoked } from "./events/session-revoked.js";
import {
  findRefreshToken,
  findRefreshTokenById,
  findRefreshTokenWithGrace,
  issueRefreshToken,
  markRefreshTokenRotated,
  revokeFamilyTokens,
  type IssuedRefreshToken,
  type RefreshTokenRow,
} from "./store/refresh-tokens.js";
import type { SessionRevokeReason, SessionRow } from "./store/schema.js";
import { insertSession, lockSession, lockSessions, markSessionRevoked } from "./store/sessions.js";

export interface SessionTokens {
  accessToken: string;
  accessExpiresAtMs: number;
  refreshToken: string;
  refreshExpiresAt: Date;
}

// A revoked `sid` must outlive every access token signed for the session;
// the margin covers clock skew between nodes.
const CLOCK_SKEW_MS = 60_000;

const unauthenticated = (message: string) => new ConnectError(message, Code.Unauthenticated);
const INVALID_REFRESH = "refresh token is invalid, expired or revoked";
const REUSE_DETECTED = "refresh token reuse detected; please log in again";

type RotateOutcome = { kind: "invalid" } | { kind: "reused" } | { kind: "ok"; tokens: SessionTokens };

export class Sessions {
  private readonly db: Database;
  private readonly signer: TokenSigner;
  private readonly revocations: RevocationStore;
  private readonly accessTtlMs: number;
  private readonly refreshTtlSec: number;
  private readonly reuseGraceSec: number;

  constructor(deps: PlatformDeps, signer: TokenSigner) {
    this.db = deps.database.db;
    this.signer = signer;
    this.revocations = deps.revocations;
    this.accessTtlMs = deps.config.jwt.accessTtlSec * 1000;
    this.refreshTtlSec = deps.config.jwt.refreshTtlSec;
    this.reuseGraceSec = deps.config.jwt.refreshReuseGraceSec;
  }

  async start(userId: string): Promise<SessionTokens> {
    const sessionId = randomUUID();
    return this.db.transaction(async (tx) => {
      await insertSession(tx, { id: sessionId, userId });
      const refresh = await issueRefreshToken(tx, { userId, familyId: sessionId, ttlSec: this.refreshTtlSec });
      return this.withAccessToken(userId, refresh);
    });
  }

  async rotate(refreshToken: string): Promise<SessionTokens> {
    if (!looksLikeOpaqueToken(refreshToken)) throw unauthenticated(INVALID_REFRESH);
    const outcome = await this.db.transaction(async (tx): Promise<RotateOutcome> => {
      const seen = await findRefreshToken(tx, refreshToken);
      if (!seen) return { kind: "invalid" };
      const session = await lockSession(tx, seen.familyId);
      if (!session || session.revokedAt !== null) return { kind: "invalid" };
      // Read again under the lock: a rotation that committed while we waited is visible now.
      const row = await findRefreshTokenWithGrace(tx, refreshToken, this.reuseGraceSec);
      if (!row || row.revokedAt !== null || row.expiresAt.getTime() <= Date.now()) return { kind: "invalid" };
      if (row.usedAt === null) {
        const next = await issueRefreshToken(tx, { userId: row.userId, familyId: row.familyId, ttlSec: this.refreshTtlSec });
        await markRefreshTokenRotated(tx, row.id, next.id, sealSuccessor(refreshToken, row.id, next.token));
        return { kind: "ok", tokens: await this.withAccessToken(row.userId, next) };
      }
      const retried = row.rotatedWithinGrace ? await this.unusedSuccessor(tx, refreshToken, row) : undefined;
      if (retried) return { kind: "ok", tokens: await this.withAccessToken(row.userId, retried) };
      await this.revoke(tx, session, "reuse_detected");
      return { kind: "reused" };
    });
    if (outcome.kind === "invalid") throw unauthenticated(INVALID_REFRESH);
    if (outcome.kind === "reused") throw unauthenticated(REUSE_DETECTED);
    return outcome.tokens;
  }

  /**
   * Ends the caller's session (and the one of `refreshToken`, if it is another
   * session of the same user): refresh tokens revoked, and the calling access
   * token and every other access token of those sessions rejected everywhere.
   */
  async end(caller: AccessClaims, refreshToken: string): Promise<void> {
    const sessionIds = new Set([caller.sessionId]);
    if (refreshToken !== "") {
      const row = await findRefreshToken(this.db, refreshToken);
      // Someone else's token is ignored, not revoked: logout can't be used to kill other users' sessions.
      if (row && row.userId === caller.userId) sessionIds.add(row.familyId);
    }
    await this.db.transaction(async (tx) => {
      const locked = await lockSessions(tx, [...sessionIds]);
      for (const session of locked) if (session.userId === caller.userId) await this.revoke(tx, session, "logout");
      // The caller's token names a session without a row (signed outside Login): its access still ends.
      if (!locked.some((s) => s.id === caller.sessionId)) {
        await enqueueSessionRevoked(tx, caller.userId, caller.sessionId, "logout");
        await this.revokeSessionAccess(caller.sessionId);
      }
      await this.revocations.revoke(revocationIds.token(caller.jti), caller.expiresAtMs + CLOCK_SKEW_MS);
    });
  }

  /** Caller holds the session's row lock. Revoking twice changes nothing. */
  private async revoke(tx: Database, session: SessionRow, reason: SessionRevokeReason): Promise<void> {
    if (session.revokedAt !== null) return;
    await markSessionRevoked(tx, session.id, reason);
    await revokeFamilyTokens(tx, session.id);
    await enqueueSessionRevoked(tx, session.userId, session.id, reason);
    // Revoked in the shared store before the commit: if that fails, nothing
    // commits and the caller retries; the reverse order could leave the
    // session dead in the database but its access tokens alive.
    await this.revokeSessionAccess(session.id);
  }

  /**
   * The successor `row` was rotated to, if it is still unused and the seal
   * opens with the presented token: a retry gets the very token it lost.
   */
  private async unusedSuccessor(tx: Database, presented: string, row: RefreshTokenRow): Promise<IssuedRefreshToken | undefined> {
    if (row.successorId === null || row.successorSealed === null) return undefined;
    const successor = await findRefreshTokenById(tx, row.successorId);
    if (!successor || successor.usedAt !== null || successor.revokedAt !== null || successor.expiresAt.getTime() <= Date.now()) {
      return undefined;
    }
    const token = openSuccessor(presented, row.id, row.successorSealed);
    if (token === undefined || hashToken(token) !== successor.tokenHash) return undefined;
    return { id: successor.id, token, familyId: successor.familyId, expiresAt: successor.expiresAt };
  }

  private revokeSessionAccess(sessionId: string): Promise<void> {
    return this.revocations.revoke(revocationIds.session(sessionId), Date.now() + this.accessTtlMs + CLOCK_SKEW_MS);
  }

  private async withAccessToken(userId: string, refresh: IssuedRefreshToken): Promise<SessionTokens> {
    const access = await this.signer.signAccess({ userId, sessionId: refresh.familyId });
    return {
      accessToken: access.token,
      accessExpiresAtMs: access.expiresAtMs,
      refreshToken: refresh.token,
      refreshExpiresAt: refresh.expiresAt,
    };
  }
}
