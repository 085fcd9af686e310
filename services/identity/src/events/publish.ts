/**
 * identity's events. Each is written to the outbox inside the transaction
 * that made the change, so it is published if and only if the change commits.
 */
import {
  BlockEventSchema,
  FriendRequestEventSchema,
  FriendshipEventSchema,
  RegistrationAttemptedEventSchema,
  UserDeletedEventSchema,
  UserRegisteredEventSchema,
  UserUpdatedEventSchema,
} from "@parley/gen/parley/identity/v1/events_pb";
import { enqueueEvent, sealSecret, type Database } from "@parley/platform";
import type { OrderedPair } from "../domain/pair.js";
import { toPublicUser } from "../handlers/mappers.js";
import { outbox, type UserRow } from "../store/schema.js";

export const subjects = {
  userRegistered: "parley.identity.user.registered",
  verificationRequested: "parley.identity.user.verification_requested",
  userUpdated: "parley.identity.user.updated",
  registrationAttempted: "parley.identity.user.registration_attempted",
  userDeleted: "parley.identity.user.deleted",
  friendRequest: (verb: "created" | "accepted" | "rejected" | "canceled") => `parley.identity.friend_request.${verb}`,
  friendship: (verb: "created" | "removed") => `parley.identity.friendship.${verb}`,
  block: (verb: "created" | "removed") => `parley.identity.block.${verb}`,
  /** Periodic copy of the social graph for projections to reconcile against (graph-slices.ts). */
  graphSlice: "parley.identity.graph.slice",
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
  const subject = kind === "registered" ? subjects.userRegistered : subjects.verificationRequested;
  return enqueueEvent(tx, outbox, subject, UserRegisteredEventSchema, {
    user: toPublicUser(user),
    email: user.email,
    sealedVerificationToken: sealSecret(key, verificationToken, user.id),
  });
}

/** Register with the address of a verified account: the owner is told, the caller is not. */
export function enqueueRegistrationAttempted(tx: Database, user: UserRow): Promise<unknown> {
  return enqueueEvent(tx, outbox, subjects.registrationAttempted, RegistrationAttemptedEventSchema, { userId: user.id, email: user.email });
}

export function enqueueUserDeleted(tx: Database, userId: string): Promise<unknown> {
  return enqueueEvent(tx, outbox, subjects.userDeleted, UserDeletedEventSchema, { userId });
}

export function enqueueUserUpdated(tx: Database, user: UserRow): Promise<unknown> {
  return enqueueEvent(tx, outbox, subjects.userUpdated, UserUpdatedEventSchema, { user: toPublicUser(user) });
}

export function enqueueFriendRequest(
  tx: Database,
  verb: "created" | "accepted" | "rejected" | "canceled",
  request: { id: string; fromUserId: string; toUserId: string },
): Promise<unknown> {
  return enqueueEvent(tx, outbox, subjects.friendRequest(verb), FriendRequestEventSchema, {
    requestId: request.id,
    fromUserId: request.fromUserId,
    toUserId: request.toUserId,
  });
}

export function enqueueFriendship(tx: Database, verb: "created" | "removed", pair: OrderedPair): Promise<unknown> {
  return enqueueEvent(tx, outbox, subjects.friendship(verb), FriendshipEventSchema, {
    userAId: pair.userAId,
    userBId: pair.userBId,
  });
}

export function enqueueBlock(tx: Database, verb: "created" | "removed", blockerId: string, blockedId: string): Promise<unknown> {
  return enqueueEvent(tx, outbox, subjects.block(verb), BlockEventSchema, { blockerId, blockedId });
}
