/**
 * Durable `notification-feed`: builds the notification feed and the block
 * projection it is filtered by. One consumer for both, so a block and the
 * messages after it are handled in the order identity and chat committed them.
 */
import { handleOnce, type BusHandler, type BusMessage, type PlatformDeps, type Subscription } from "@parley/platform";
import type { Logger } from "@parley/platform";
import { recordBlock, removeBlock, replaceBlockRange, usersBlocking } from "../store/blocks.js";
import { upsertMessageNotifications } from "../store/message-notifications.js";
import { inbox } from "../store/schema.js";
import { planFeedAction, FEED_SUBJECTS } from "./feed-plan.js";
import type { OfflineLookup } from "./presence-view.js";
import { createNotifications } from "./publish.js";

export const FEED_CONSUMER = "notification-feed";

export async function startFeedConsumer(deps: PlatformDeps, presence: OfflineLookup, logger: Logger): Promise<Subscription> {
  return deps.bus.consume({ durable: FEED_CONSUMER, subjects: FEED_SUBJECTS, handler: feedEventHandler(deps, presence, logger) });
}

/** The consumer's handler; exported so tests can replay a delivery the way the bus redelivers it. */
export function feedEventHandler(deps: PlatformDeps, presence: OfflineLookup, logger: Logger): BusHandler {
  const db = deps.database.db;
  const log = logger.child({ consumer: FEED_CONSUMER });

  async function handle(msg: BusMessage): Promise<void> {
    // Presence is read outside the transaction: it lives in memory and Redis, not Postgres.
    const action = await planFeedAction(msg, presence);
    if (action.type === "ignore") {
      log.debug({ eventId: msg.id, subject: msg.subject, reason: action.reason }, "event ignored");
      return;
    }
    if (action.type === "notify-offline") {
      // One statement: inbox marker, block filter and upsert together, no outbox event (the users are offline).
      const notified = await upsertMessageNotifications(db, { ...action.message, consumer: FEED_CONSUMER });
      log.debug({ eventId: msg.id, subject: msg.subject, notified: notified.length, offline: action.message.recipientIds.length }, "message notifications upserted");
      return;
    }
    await handleOnce(db, inbox, FEED_CONSUMER, msg.id, async (tx) => {
      switch (action.type) {
        case "block":
          return recordBlock(tx, action.blockerId, action.blockedId);
        case "unblock":
          return removeBlock(tx, action.blockerId, action.blockedId);
        case "block-slice":
          return replaceBlockRange(tx, action.after, action.through, action.edges);
        case "notify": {
          const recipients = action.notifications.map((n) => n.userId);
          const blocking = await usersBlocking(tx, recipients, action.actorId);
          const allowed = action.notifications.filter((n) => !blocking.has(n.userId));
          const created = await createNotifications(tx, allowed);
          log.debug({ eventId: msg.id, subject: msg.subject, created, suppressedByBlock: blocking.size }, "notifications created");
        }
      }
    });
  }

  return handle;
}
