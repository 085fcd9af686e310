/** Maps the proto enum to the readable names stored in `notifications.kind`. */
import { NotificationKind } from "@parley/gen/parley/notification/v1/notification_pb";

const names = {
  [NotificationKind.FRIEND_REQUEST_RECEIVED]: "friend_request_received",
  [NotificationKind.FRIEND_REQUEST_ACCEPTED]: "friend_request_accepted",
  [NotificationKind.ADDED_TO_GROUP]: "added_to_group",
  [NotificationKind.NEW_MESSAGE]: "new_message",
} as const;

export type StoredNotificationKind = Exclude<NotificationKind, NotificationKind.UNSPECIFIED>;
export type NotificationKindName = (typeof names)[StoredNotificationKind];

export function kindName(kind: StoredNotificationKind): NotificationKindName {
  return names[kind];
}

export function kindFromName(name: string): NotificationKind {
  for (const [kind, n] of Object.entries(names)) if (n === name) return Number(kind) as NotificationKind;
  return NotificationKind.UNSPECIFIED;
}
