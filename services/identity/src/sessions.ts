/**
 * Login sessions: a refresh-token family plus the short-lived access tokens
 * signed for it (`sid` = family id). Refresh tokens rotate on every use;
 * presenting one that was already used means it was copied, so the whole
 * family dies, here and in the shared revocation store.
 */
import { randomUUID } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { revocationIds, type AccessClaims, type Database, type PlatformDeps, type RevocationStore, type TokenSigner } from "@parley/platform";
import { looksLikeOpaqueToken } from "./domain/secrets.js";
import {
  findRefreshToken,
  issueRefreshToken,
  lockRefreshToken,
  markRefreshTokenUsed,
  revokeFamily,
} from "./store/refresh-tokens.js";

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

export class Sessions {
  private readonly db: Database;
  private readonly signer: TokenSigner;
  private readonly revocations: RevocationStore;
  private readonly accessTtlMs: number;
  private readonly refreshTtlSec: number;

  constructor(deps: PlatformDeps, signer: TokenSigner) {
    this.db = deps.database.db;
    this.signer = signer;
    this.revocations = deps.revocations;
    this.accessTtlMs = deps.config.jwt.accessTtlSec * 1000;
    this.refreshTtlSec = deps.config.jwt.refreshTtlSec;
  }

  async start(userId: string): Promise<SessionTokens> {
    const familyId = randomUUID();
    const refresh = await this.db.transaction((tx) => issueRefreshToken(tx, { userId, familyId, ttlSec: this.refreshTtlSec }));
    return this.withAccessToken(userId, refresh);
  }

  async rotate(refreshToken: string): Promise<SessionTokens> {
    if (!looksLikeOpaqueToken(refreshToken)) throw unauthenticated(INVALID_REFRESH);
    const outcome = await this.db.transaction(async (tx) => {
      const row = await lockRefreshToken(tx, refreshToken);
      if (!row || row.revokedAt !== null || row.expiresAt.getTime() <= Date.now()) return { kind: "invalid" } as const;
      if (row.usedAt !== null) {
        await revokeFamily(tx, row.userId, row.familyId);
        // Revoked in the shared store before the commit: if that fails, nothing
        // commits and the caller retries; the reverse order could leave the
        // family dead in the database but its access tokens alive.
        await this.revokeSessionAccess(row.familyId);
        return { kind: "reused" } as const;
      }
      await markRefreshTokenUsed(tx, row.id);
      const next = await issueRefreshToken(tx, { userId: row.userId, familyId: row.familyId, ttlSec: this.refreshTtlSec });
      return { kind: "rotated", userId: row.userId, next } as const;
    });
    if (outcome.kind === "invalid") throw unauthenticated(INVALID_REFRESH);
    if (outcome.kind === "reused") throw unauthenticated(REUSE_DETECTED);
    return this.withAccessToken(outcome.userId, outcome.next);
  }

  /**
   * Ends the caller's session (and the one of `refreshToken`, if it is another
   * session of the same user): refresh tokens revoked, and the calling access
   * token and every other access token of those sessions rejected everywhere.
   */
  async end(caller: AccessClaims, refreshToken: string): Promise<void> {
    const families = new Set([caller.sessionId]);
    if (refreshToken !== "") {
      const row = await findRefreshToken(this.db, refreshToken);
      // Someone else's token is ignored, not revoked: logout can't be used to kill other users' sessions.
      if (row && row.userId === caller.userId) families.add(row.familyId);
    }
    await this.db.transaction(async (tx) => {
      for (const familyId of families) {
        await revokeFamily(tx, caller.userId, familyId);
        await this.revokeSessionAccess(familyId);
      }
      await this.revocations.revoke(revocationIds.token(caller.jti), caller.expiresAtMs + CLOCK_SKEW_MS);
    });
  }

  private revokeSessionAccess(familyId: string): Promise<void> {
    return this.revocations.revoke(revocationIds.session(familyId), Date.now() + this.accessTtlMs + CLOCK_SKEW_MS);
  }

  private async withAccessToken(userId: string, refresh: { token: string; familyId: string; expiresAt: Date }): Promise<SessionTokens> {
    const access = await this.signer.signAccess({ userId, sessionId: refresh.familyId });
    return {
      accessToken: access.token,
      accessExpiresAtMs: access.expiresAtMs,
      refreshToken: refresh.token,
      refreshExpiresAt: refresh.expiresAt,
    };
  }
}
