/**
 * Pushed logout: identity publishes `parley.identity.session.revoked` (from its
 * outbox, in the revoking transaction) on logout and refresh-token reuse, and
 * every edge node consumes it with its own, non-shared consumer (consumeOwn,
 * like presence-watch): the session's sockets may sit on any node, so each
 * node must see every revocation. Each node closes its sockets of that session
 * at once with 4401 + reason, and looks once more a moment later: a socket
 * whose token was verified at the upgrade just before identity revoked it may
 * be registered only after the event was handled. The sweeper's periodic
 * token re-check (tokenCheckMs) stays as the fallback for a revocation this
 * node missed (e.g. one published while it was starting).
 * A socket that Reauthenticated onto another session is left alone: only its
 * current token's `sid` counts.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { SessionRevokedEventSchema, SessionRevokeReason, type SessionRevokedEvent } from "@parley/gen/parley/identity/v1/events_pb";
import type { Subscription } from "@parley/platform";
import { rejectUnauthenticated } from "../handlers/auth.js";
import type { EdgeContext } from "../handlers/context.js";
import { identityEvents } from "./subjects.js";

export const SUBJECT_SESSION_REVOKED = identityEvents.sessionRevoked.subject;

/** Close reasons the client sees (a WebSocket close reason is at most 123 bytes). */
export function sessionRevokedReason(reason: SessionRevokeReason): string {
  switch (reason) {
    case SessionRevokeReason.LOGOUT:
      return "session revoked: logged out";
    case SessionRevokeReason.REUSE_DETECTED:
      return "session revoked: refresh token reuse detected";
    default:
      return "session revoked";
  }
}

/** Upgrades verified just before a revocation open their socket well within this. */
const LATE_SOCKET_WINDOW_MS = 2_000;

export async function startSessionRevocations(ctx: EdgeContext): Promise<Subscription> {
  return ctx.deps.bus.consumeOwn({
    name: `session-revocations-${ctx.nodeId}`,
    subjects: [SUBJECT_SESSION_REVOKED],
    handler: async (msg) => {
      const event = fromBinary(SessionRevokedEventSchema, msg.data);
      closeSessionSockets(ctx, event);
      setTimeout(() => closeSessionSockets(ctx, event), LATE_SOCKET_WINDOW_MS).unref();
    },
  });
}

function closeSessionSockets(ctx: EdgeContext, event: SessionRevokedEvent): void {
  const sockets = ctx.registry.socketsOf(event.userId);
  if (!sockets) return;
  const reason = sessionRevokedReason(event.reason);
  // A copy: closing a socket removes it from the registry's set.
  for (const conn of [...sockets]) {
    if (conn.closed || conn.claims.sessionId !== event.sessionId) continue;
    ctx.logger.info({ userId: event.userId, sessionId: event.sessionId, reason }, "closing socket of a revoked session");
    rejectUnauthenticated(conn, reason);
  }
}
