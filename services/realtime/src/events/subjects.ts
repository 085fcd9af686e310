/** Subjects the edge consumes and emits. */
export const SUBJECT_PRESENCE_CHANGED = "parley.realtime.presence.changed";
export const SUBJECT_TYPING_STARTED = "parley.realtime.typing.started";

/** Domain events the router turns into socket frames (the durable PARLEY stream). */
export const ROUTER_EVENT_SUBJECTS = [
  "parley.chat.>",
  "parley.notification.notification.created",
  "parley.identity.friend_request.>",
  "parley.identity.friendship.removed",
];

/** Typing and presence signals the router fans out (the one-minute PARLEY_SIGNALS stream). */
export const ROUTER_SIGNAL_SUBJECTS = ["parley.realtime.>"];

/** Everything the router turns into socket frames. */
export const ROUTER_SUBJECTS = [...ROUTER_EVENT_SUBJECTS, ...ROUTER_SIGNAL_SUBJECTS];

export const ROUTER_DURABLE = "realtime-router";
/** A consumer lives in one stream, so signals have a durable of their own. */
export const SIGNAL_ROUTER_DURABLE = "realtime-router-signals";

export function edgeDeliverySubject(nodeId: string): string {
  return `parley.edge.${nodeId}.deliver`;
}
