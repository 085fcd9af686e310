/**
 * identity's events. Each is written to the outbox inside the transaction
 * that made the change, so it is published if and only if the change commits.
 */
import {
  BlockEventSchema,
  FriendRequestEventSchema,
  FriendshipEventSchema,
  UserRegisteredEventSchema,
  UserUpdatedEventSchema,
} from "@parley/gen/parley/identity/v1/events_pb";
import { enqueueEvent, type Database } from "@parley/platform";
import type { OrderedPair } from "../domain/pair.js";
import { toPublicUser } from "../handlers/mappers.js";
import { outbox, type UserRow } from "../store/schema.js";

export const subjects = {
  userRegistered: "parley.identity.user.registered",
  verificationRequested: "parley.identity.user.verification_requested",
  userUpdated: "parley.identity.user.updated",
  friendRequest: (verb: "created" | "accepted" | "rejected" | "canceled") => `parley.identity.friend_request.${verb}`,
  friendship: (verb: "created" | "removed") => `parley.identity.friendship.${verb}`,
  block: (verb: "created" | "removed") => `parley.identity.block.${verb}`,
  /** Periodic copy of the social graph for projections to reconcile against (graph-slices.ts). */
  graphSlice: "parley.identity.graph.slice",
} as const;

/**
 * The raw verification token travels in the event: the stream is internal,
 * and the notification service needs it to build the link it mails.
 */
export function enqueueVerificationMail(
  tx: Database,
  kind: "registered" | "resend",
  user: UserRow,
  verificationToken: string,
): Promise<unknown> {
  const subject = kind === "registered" ? subjects.userRegistered : subjects.verificationRequested;
  return enqueueEvent(tx, outbox, subject, UserRegisteredEventSchema, {
    user: toPublicUser(user),
    email: user.email,
    verificationToken,
  });
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
