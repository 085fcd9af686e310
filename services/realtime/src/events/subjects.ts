/** Subjects the edge consumes and emits. */
export const SUBJECT_PRESENCE_CHANGED = "parley.realtime.presence.changed";
export const SUBJECT_TYPING_STARTED = "parley.realtime.typing.started";

/** Domain events every edge node turns into socket frames (the durable PARLEY stream). */
export const EDGE_EVENT_SUBJECTS = [
  "parley.chat.>",
  "parley.notification.notification.created",
  "parley.identity.friend_request.>",
  "parley.identity.friendship.removed",
];

/** Typing and presence signals every edge node delivers (the one-minute PARLEY_SIGNALS stream). */
export const EDGE_SIGNAL_SUBJECTS = ["parley.realtime.>"];

/** Everything the edge turns into socket frames. */
export const EDGE_SUBJECTS = [...EDGE_EVENT_SUBJECTS, ...EDGE_SIGNAL_SUBJECTS];
