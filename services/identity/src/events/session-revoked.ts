/**
 * `parley.identity.session.revoked`: written to the outbox in the transaction
 * that revokes the session, so it is published if and only if the revocation
 * commits. Every realtime edge node consumes it and closes that session's
 * sockets at once (the edge's periodic token re-check stays as the fallback).
 */
import { SessionRevokeReason } from "@parley/gen/parley/identity/v1/events_pb";
import { enqueueEvent, type Database } from "@parley/platform";
import { outbox, type SessionRevokeReason as StoredReason } from "../store/schema.js";
import { identityEvents } from "./publish.js";

export const SUBJECT_SESSION_REVOKED = identityEvents.sessionRevoked.subject;

const REASONS: Record<StoredReason, SessionRevokeReason> = {
  logout: SessionRevokeReason.LOGOUT,
  reuse_detected: SessionRevokeReason.REUSE_DETECTED,
};

export function enqueueSessionRevoked(tx: Database, userId: string, sessionId: string, reason: StoredReason): Promise<unknown> {
  return enqueueEvent(tx, outbox, identityEvents.sessionRevoked, { userId, sessionId, reason: REASONS[reason] });
}
