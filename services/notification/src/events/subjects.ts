/**
 * Subjects notification consumes (published by identity, chat and the realtime edge), read from
 * the event catalog in the contract, never typed here.
 */
import { ChatEvents } from "@parley/gen/parley/chat/v1/events_pb";
import { IdentityEvents } from "@parley/gen/parley/identity/v1/events_pb";
import { RealtimeEvents } from "@parley/gen/parley/realtime/v1/events_pb";
import { eventCatalog } from "@parley/platform";

const identityEvents = eventCatalog(IdentityEvents);
const chatEvents = eventCatalog(ChatEvents);
const realtimeEvents = eventCatalog(RealtimeEvents);

export const IDENTITY = {
  userRegistered: identityEvents.userRegistered.subject,
  verificationRequested: identityEvents.verificationRequested.subject,
  registrationAttempted: identityEvents.registrationAttempted.subject,
  friendRequestCreated: identityEvents.friendRequestCreated.subject,
  friendRequestAccepted: identityEvents.friendRequestAccepted.subject,
  blockCreated: identityEvents.blockCreated.subject,
  blockRemoved: identityEvents.blockRemoved.subject,
  /** Periodic copy of a slice of the social graph; block slices reconcile the block projection. */
  graphSlice: identityEvents.graphSlice.subject,
} as const;

export const CHAT = {
  conversationCreated: chatEvents.conversationCreated.subject,
  membersAdded: chatEvents.membersAdded.subject,
  messageCreated: chatEvents.messageCreated.subject,
} as const;

export const REALTIME = {
  /** A user's first socket opened or last socket closed, across every edge node. */
  presenceChanged: realtimeEvents.presenceChanged.subject,
} as const;
