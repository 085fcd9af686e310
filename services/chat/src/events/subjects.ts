/**
 * Subjects chat publishes and consumes, read from the event catalog in the
 * contract (proto/parley/<svc>/v1/events.proto), never typed here.
 */
import { ChatEvents } from "@parley/gen/parley/chat/v1/events_pb";
import { IdentityEvents } from "@parley/gen/parley/identity/v1/events_pb";
import { eventCatalog } from "@parley/platform";

export const chatEvents = eventCatalog(ChatEvents);
const identityEvents = eventCatalog(IdentityEvents);

export const chatSubjects = {
  messageCreated: chatEvents.messageCreated.subject,
  messageEdited: chatEvents.messageEdited.subject,
  messageDeleted: chatEvents.messageDeleted.subject,
  conversationCreated: chatEvents.conversationCreated.subject,
  conversationUpdated: chatEvents.conversationUpdated.subject,
  membersAdded: chatEvents.membersAdded.subject,
  memberRemoved: chatEvents.memberRemoved.subject,
  readUpdated: chatEvents.readUpdated.subject,
} as const;

export const identitySubjects = {
  friendshipCreated: identityEvents.friendshipCreated.subject,
  friendshipRemoved: identityEvents.friendshipRemoved.subject,
  blockCreated: identityEvents.blockCreated.subject,
  blockRemoved: identityEvents.blockRemoved.subject,
  /** Periodic copy of a slice of the graph; the projection replaces that key range (reconcile). */
  graphSlice: identityEvents.graphSlice.subject,
} as const;
