/**
 * Tokens on sockets: verified at the upgrade, replaced by Reauthenticate, and
 * re-checked by the sweeper, because a socket lives far longer than a 15-minute
 * access token and a logout must reach sockets that are already open.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { revocationIds, type AccessClaims } from "@parley/platform";
import { CLOSE_UNAUTHENTICATED, type Connection } from "./connection.js";
import type { EdgeContext } from "./context.js";

/** 1013 "try again later": the token may be fine, the check was not possible. */
export const CLOSE_TRY_AGAIN_LATER = 1013;

export type TokenCheck = { ok: true; claims: AccessClaims } | { ok: false; closeCode: number; reason: string };

export async function checkAccessToken(ctx: EdgeContext, token: string | undefined): Promise<TokenCheck> {
  if (!token) return { ok: false, closeCode: CLOSE_UNAUTHENTICATED, reason: "missing access token (subprotocol parley.auth.<jwt>)" };
  try {
    return { ok: true, claims: await ctx.deps.tokens.verify(token) };
  } catch (err) {
    const e = ConnectError.from(err);
    if (e.code === Code.Unauthenticated) return { ok: false, closeCode: CLOSE_UNAUTHENTICATED, reason: e.rawMessage };
    ctx.logger.warn({ err: e }, "token verification unavailable at upgrade");
    return { ok: false, closeCode: CLOSE_TRY_AGAIN_LATER, reason: "cannot verify access token right now; retry" };
  }
}

export function rejectUnauthenticated(conn: Connection, reason: string): void {
  conn.sendError("unauthenticated", reason);
  conn.close(CLOSE_UNAUTHENTICATED, reason);
}

/** Reauthenticate frame: a fresh token for the same user replaces the old one; anything else leaves the old one in place. */
export async function reauthenticate(ctx: EdgeContext, conn: Connection, token: string): Promise<void> {
  const check = await checkAccessToken(ctx, token);
  if (conn.closed) return;
  if (!check.ok) {
    conn.sendError(check.closeCode === CLOSE_UNAUTHENTICATED ? "unauthenticated" : "unavailable", `reauthenticate: ${check.reason}`);
    return;
  }
  if (check.claims.userId !== conn.userId) {
    conn.sendError("permission_denied", "reauthenticate: the token belongs to another user; open a new socket");
    return;
  }
  conn.claims = check.claims;
  conn.token = token;
}

/**
 * Periodic check of one socket's token. Expired past the grace period or
 * revoked closes the socket (4401). If the revocation store cannot be reached
 * the socket stays open: closing every socket on a store blip would cause a
 * reconnect storm that fails at the upgrade anyway (where the check fails
 * closed); the next tick checks again.
 */
export async function recheckToken(ctx: EdgeContext, conn: Connection, nowMs: number): Promise<void> {
  const { claims } = conn;
  if (nowMs > claims.expiresAtMs + ctx.tuning.tokenGraceMs) {
    rejectUnauthenticated(conn, "access token expired");
    return;
  }
  let revoked: boolean;
  try {
    revoked = await ctx.deps.revocations.anyRevoked([revocationIds.token(claims.jti), revocationIds.session(claims.sessionId)]);
  } catch (err) {
    ctx.logger.warn({ err, userId: conn.userId }, "revocation check failed; keeping socket until next check");
    return;
  }
  // The token may have been replaced by Reauthenticate while we waited.
  if (revoked && conn.claims === claims) rejectUnauthenticated(conn, "access token revoked");
}
