/**
 * identity's events. Each is written to the outbox inside the transaction
 * that made the change, so it is published if and only if the change commits.
 */
import { IdentityEvents } from "@parley/gen/parley/identity/v1/events_pb";
import { enqueueEvent, eventCatalog, sealSecret, type Database } from "@parley/platform";
import type { OrderedPair } from "../domain/pair.js";
import { toPublicUser } from "../handlers/mappers.js";
import { outbox, type UserRow } from "../store/schema.js";

/** What identity publishes, from the event catalog in the contract (proto/parley/identity/v1/events.proto). */
export const identityEvents = eventCatalog(IdentityEvents);

const friendRequestEvents = {
  created: identityEvents.friendRequestCreated,
  accepted: identityEvents.friendRequestAccepted,
  rejected: identityEvents.friendRequestRejected,
  canceled: identityEvents.friendRequestCanceled,
} as const;

/**
 * The verification token travels sealed for notification (it builds the link
 * it mails): streams keep events for days and are read by every consumer, so
 * the raw token never enters the outbox or the stream. Bound to the user id.
 */
export function enqueueVerificationMail(
  tx: Database,
  kind: "registered" | "resend",
  user: UserRow,
  verificationToken: string,
  key: Uint8Array,
): Promise<unknown> {
  const event = kind === "registered" ? identityEvents.userRegistered : identityEvents.verificationRequested;
  return enqueueEvent(tx, outbox, event, {
    user: toPublicUser(user),
    email: user.email,
    sealedVerificationToken: sealSecret(key, verificationToken, user.id),
  });
}

/** Register with the address of a verified account: the owner is told, the caller is not. */
export function enqueueRegistrationAttempted(tx: Database, user: UserRow): Promise<unknown> {
  return enqueueEvent(tx, outbox, identityEvents.registrationAttempted, { userId: user.id, email: user.email });
}

export function enqueueUserDeleted(tx: Database, userId: string): Promise<unknown> {
  return enqueueEvent(tx, outbox, identityEvents.userDeleted, { userId });
}

export function enqueueUserUpdated(tx: Database, user: UserRow): Promise<unknown> {
  return enqueueEvent(tx, outbox, identityEvents.userUpdated, { user: toPublicUser(user) });
}

export function enqueueFriendRequest(
  tx: Database,
  verb: keyof typeof friendRequestEvents,
  request: { id: string; fromUserId: string; toUserId: string },
): Promise<unknown> {
  return enqueueEvent(tx, outbox, friendRequestEvents[verb], {
    requestId: request.id,
    fromUserId: request.fromUserId,
    toUserId: request.toUserId,
  });
}

export function enqueueFriendship(tx: Database, verb: "created" | "removed", pair: OrderedPair): Promise<unknown> {
  return enqueueEvent(tx, outbox, verb === "created" ? identityEvents.friendshipCreated : identityEvents.friendshipRemoved, {
    userAId: pair.userAId,
    userBId: pair.userBId,
  });
}

export function enqueueBlock(tx: Database, verb: "created" | "removed", blockerId: string, blockedId: string): Promise<unknown> {
  return enqueueEvent(tx, outbox, verb === "created" ? identityEvents.blockCreated : identityEvents.blockRemoved, { blockerId, blockedId });
}
