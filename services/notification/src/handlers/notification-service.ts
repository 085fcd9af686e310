/** parley.notification.v1.NotificationService: the caller's own feed only. */
import { Code, ConnectError, type ConnectRouter, type HandlerContext } from "@connectrpc/connect";
import { requireUser, type Database } from "@parley/platform";
import {
  NotificationService,
  type GetUnreadCountRequest,
  type ListNotificationsRequest,
  type MarkNotificationsReadRequest,
} from "@parley/gen/parley/notification/v1/notification_pb";
import { toNotificationMessage } from "../store/notification-message.js";
import { countUnread, listNotifications, markRead, ownedNotificationIds } from "../store/notifications.js";
import { decodePageToken, encodePageToken, isNotificationId } from "../store/page-token.js";

const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 200;
const MAX_IDS_PER_MARK = 500;

export function routeNotificationService(router: ConnectRouter, db: Database): void {
  router.service(NotificationService, {
    async listNotifications(req: ListNotificationsRequest, ctx: HandlerContext) {
      const me = requireUser(ctx);
      if (req.pageSize < 0 || req.pageSize > MAX_PAGE_SIZE) {
        throw new ConnectError(`page_size must be between 1 and ${MAX_PAGE_SIZE} (0 = ${DEFAULT_PAGE_SIZE})`, Code.InvalidArgument);
      }
      const pageSize = req.pageSize || DEFAULT_PAGE_SIZE;
      const after = decodePageToken(req.pageToken);
      // One extra row tells whether another page exists without a count query.
      const rows = await listNotifications(db, me.userId, { limit: pageSize + 1, unreadOnly: req.unreadOnly, after });
      const page = rows.slice(0, pageSize);
      const last = page.at(-1);
      return {
        notifications: page.map(toNotificationMessage),
        nextPageToken: rows.length > pageSize && last ? encodePageToken(last) : "",
      };
    },

    async markNotificationsRead(req: MarkNotificationsReadRequest, ctx: HandlerContext) {
      const me = requireUser(ctx);
      const ids = [...new Set(req.notificationIds)];
      if (req.all && ids.length > 0) {
        throw new ConnectError("notification_ids must be empty when all is set", Code.InvalidArgument);
      }
      if (!req.all && ids.length === 0) {
        throw new ConnectError("notification_ids is empty; pass ids or set all", Code.InvalidArgument);
      }
      if (ids.length > MAX_IDS_PER_MARK) {
        throw new ConnectError(`notification_ids has ${ids.length} ids; at most ${MAX_IDS_PER_MARK} per call`, Code.InvalidArgument);
      }
      const malformed = ids.find((id) => !isNotificationId(id));
      if (malformed !== undefined) {
        throw new ConnectError(`notification_ids contains "${malformed.slice(0, 64)}", which is not a notification id`, Code.InvalidArgument);
      }
      const unreadCount = await db.transaction(async (tx) => {
        if (!req.all) {
          // Someone else's id answers exactly like an unknown one, so ids cannot be probed.
          const owned = await ownedNotificationIds(tx, me.userId, ids);
          const missing = ids.find((id) => !owned.has(id));
          if (missing !== undefined) throw new ConnectError(`notification ${missing} not found`, Code.NotFound);
        }
        await markRead(tx, me.userId, req.all ? "all" : ids);
        return countUnread(tx, me.userId);
      });
      return { unreadCount: BigInt(unreadCount) };
    },

    async getUnreadCount(_req: GetUnreadCountRequest, ctx: HandlerContext) {
      const me = requireUser(ctx);
      return { unreadCount: BigInt(await countUnread(db, me.userId)) };
    },
  });
}
