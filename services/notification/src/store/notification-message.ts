/** Stored row → the `Notification` message clients and the NotificationCreatedEvent carry. */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { NotificationSchema, type Notification } from "@parley/gen/parley/notification/v1/notification_pb";
import { kindFromName } from "./kinds.js";
import type { NotificationRow } from "./schema.js";

export function toNotificationMessage(row: NotificationRow): Notification {
  return create(NotificationSchema, {
    id: row.id,
    kind: kindFromName(row.kind),
    actorId: row.actorId,
    conversationId: row.conversationId,
    messageId: row.messageId,
    friendRequestId: row.friendRequestId,
    preview: row.preview,
    createdAt: timestampFromDate(row.createdAt),
    read: row.readAt !== null,
    unreadMessageCount: row.unreadMessages,
  });
}
