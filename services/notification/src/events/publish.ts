/**
 * What notification emits: one NotificationCreatedEvent per stored notification, so the realtime edge pushes it live.
 * NEW_MESSAGE rows are written for offline users only and emit nothing (store/message-notifications.ts).
 */
import { enqueueEvents, eventCatalog, type Database } from "@parley/platform";
import { NotificationEvents } from "@parley/gen/parley/notification/v1/events_pb";
import { toNotificationMessage } from "../store/notification-message.js";
import { insertNotifications, type NewNotification } from "../store/notifications.js";
import { outbox } from "../store/schema.js";

const notificationCreated = eventCatalog(NotificationEvents).notificationCreated;
export const NOTIFICATION_CREATED = notificationCreated.subject;

/** Stores the notifications and their events in the caller's transaction; duplicates of an already-handled source event produce neither. */
export async function createNotifications(tx: Database, items: NewNotification[]): Promise<number> {
  const rows = await insertNotifications(tx, items);
  await enqueueEvents(
    tx,
    outbox,
    notificationCreated,
    rows.map((row) => ({ userId: row.userId, notification: toNotificationMessage(row) })),
  );
  return rows.length;
}
