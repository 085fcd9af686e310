/**
 * What notification deletes with age (run by the platform's retention
 * runner): inbox markers, and notifications read more than
 * NOTIFICATION_READ_RETENTION ago (default 90 days). Unread notifications are
 * kept whatever their age: nobody has seen them yet.
 */
import { deleteBatch, inboxRetentionJob, type Database, type PlatformConfig, type RetentionJob } from "@parley/platform";
import { lt } from "drizzle-orm";
import { inbox, notifications } from "./schema.js";

export function notificationRetentionJobs(db: Database, retention: PlatformConfig["retention"]): RetentionJob[] {
  return [
    inboxRetentionJob(db, inbox, retention.inboxSec * 1000),
    {
      name: "read_notifications",
      // lt() on a NULL read_at is NULL, so unread rows never match.
      prune: (limit) => deleteBatch(db, notifications, lt(notifications.readAt, new Date(Date.now() - retention.readNotificationSec * 1000)), limit),
    },
  ];
}
