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

/** Sockets whose tokens one revocation-store call checks (two keys each: the token and its session). */
const RECHECK_BATCH = 500;

/**
 * Periodic check of the tokens of the sockets due this sweep. Expired past the
 * grace period closes the socket (4401) at once. Revocation is asked in one
 * store call per RECHECK_BATCH sockets ("is any of these tokens or sessions
 * revoked?"): nearly always no, so an idle node costs one call per sweep
 * instead of one per socket per tokenCheckMs (19,000 sockets were 1,900 store
 * calls a second). Only a batch that holds a revocation is looked at socket
 * by socket. If the store cannot be reached the sockets stay open: closing
 * every socket on a store blip would cause a reconnect storm that fails at the
 * upgrade anyway (where the check fails closed); the next tick checks again.
 */
export async function recheckTokens(ctx: EdgeContext, conns: readonly Connection[], nowMs: number): Promise<void> {
  const live: Array<{ conn: Connection; claims: AccessClaims }> = [];
  for (const conn of conns) {
    if (conn.closed) continue;
    if (nowMs > conn.claims.expiresAtMs + ctx.tuning.tokenGraceMs) rejectUnauthenticated(conn, "access token expired");
    else live.push({ conn, claims: conn.claims });
  }
  for (let i = 0; i < live.length; i += RECHECK_BATCH) {
    const batch = live.slice(i, i + RECHECK_BATCH);
    let anyRevoked: boolean;
    try {
      anyRevoked = await ctx.deps.revocations.anyRevoked(batch.flatMap(({ claims }) => revocationKeys(claims)));
    } catch (err) {
      ctx.logger.warn({ err, sockets: batch.length }, "revocation check failed; keeping sockets until next check");
      continue;
    }
    if (!anyRevoked) continue;
    for (const { conn, claims } of batch) await closeIfRevoked(ctx, conn, claims);
  }
}

function revocationKeys(claims: AccessClaims): string[] {
  return [revocationIds.token(claims.jti), revocationIds.session(claims.sessionId)];
}

async function closeIfRevoked(ctx: EdgeContext, conn: Connection, claims: AccessClaims): Promise<void> {
  if (conn.closed) return;
  let revoked: boolean;
  try {
    revoked = await ctx.deps.revocations.anyRevoked(revocationKeys(claims));
  } catch (err) {
    ctx.logger.warn({ err, userId: conn.userId }, "revocation check failed; keeping socket until next check");
    return;
  }
  // The token may have been replaced by Reauthenticate while we waited.
  if (revoked && conn.claims === claims) rejectUnauthenticated(conn, "access token revoked");
}
