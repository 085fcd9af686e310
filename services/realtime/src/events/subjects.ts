/**
 * What the edge consumes and emits, read from the event catalog in the
 * contract (proto/parley/<svc>/v1/events.proto), never typed here.
 */
import { ChatEvents } from "@parley/gen/parley/chat/v1/events_pb";
import { IdentityEvents } from "@parley/gen/parley/identity/v1/events_pb";
import { NotificationEvents } from "@parley/gen/parley/notification/v1/events_pb";
import { RealtimeEvents } from "@parley/gen/parley/realtime/v1/events_pb";
import { eventCatalog, filterFor, type EventType } from "@parley/platform";

export const chatEvents = eventCatalog(ChatEvents);
export const identityEvents = eventCatalog(IdentityEvents);
export const notificationEvents = eventCatalog(NotificationEvents);
export const realtimeEvents = eventCatalog(RealtimeEvents);

export const SUBJECT_PRESENCE_CHANGED = realtimeEvents.presenceChanged.subject;
export const SUBJECT_TYPING_STARTED = realtimeEvents.typingStarted.subject;

const friendRequestEvents = [
  identityEvents.friendRequestCreated,
  identityEvents.friendRequestAccepted,
  identityEvents.friendRequestRejected,
  identityEvents.friendRequestCanceled,
];

/** Domain events every edge node turns into socket frames (the durable PARLEY stream). */
export const EDGE_EVENT_SUBJECTS = [
  filterFor(Object.values(chatEvents) as EventType[]),
  notificationEvents.notificationCreated.subject,
  filterFor(friendRequestEvents),
  identityEvents.friendshipRemoved.subject,
];

/** Typing and presence signals every edge node delivers (the one-minute PARLEY_SIGNALS stream). */
export const EDGE_SIGNAL_SUBJECTS = [filterFor(Object.values(realtimeEvents) as EventType[])];

/** Everything the edge turns into socket frames. */
export const EDGE_SUBJECTS = [...EDGE_EVENT_SUBJECTS, ...EDGE_SIGNAL_SUBJECTS];
