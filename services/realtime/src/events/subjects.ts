/** Subjects the edge consumes and emits. */
export const SUBJECT_PRESENCE_CHANGED = "parley.realtime.presence.changed";
export const SUBJECT_TYPING_STARTED = "parley.realtime.typing.started";

/** Everything the router turns into socket frames (one stream: PARLEY). */
export const ROUTER_SUBJECTS = [
  "parley.chat.>",
  "parley.notification.notification.created",
  "parley.identity.friend_request.>",
  "parley.identity.friendship.removed",
  "parley.realtime.>",
];

export const ROUTER_DURABLE = "realtime-router";

export function edgeDeliverySubject(nodeId: string): string {
  return `parley.edge.${nodeId}.deliver`;
}
