/**
 * Projection of identity's social graph into chat's own tables. Each event is
 * applied once (inbox), so redeliveries are no-ops.
 */
import { BlockEventSchema, FriendshipEventSchema } from "@parley/gen/parley/identity/v1/events_pb";
import {
  decodeEvent,
  handleOnce,
  type BusMessage,
  type Database,
  type EventBus,
  type PlatformDeps,
  type Subscription,
} from "@parley/platform";
import { inbox } from "../store/schema.js";
import { setBlock, setFriendship } from "../store/social-graph.js";
import { identitySubjects } from "./subjects.js";

export const SOCIAL_GRAPH_CONSUMER = "chat-social-graph";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type Logger = PlatformDeps["logger"];

async function apply(tx: Database, msg: BusMessage, logger: Logger): Promise<void> {
  switch (msg.subject) {
    case identitySubjects.friendshipCreated:
    case identitySubjects.friendshipRemoved: {
      const event = decodeEvent(FriendshipEventSchema, msg);
      if (!UUID.test(event.userAId) || !UUID.test(event.userBId)) break;
      await setFriendship(tx, event.userAId.toLowerCase(), event.userBId.toLowerCase(), msg.subject === identitySubjects.friendshipCreated);
      return;
    }
    case identitySubjects.blockCreated:
    case identitySubjects.blockRemoved: {
      const event = decodeEvent(BlockEventSchema, msg);
      if (!UUID.test(event.blockerId) || !UUID.test(event.blockedId)) break;
      await setBlock(tx, event.blockerId.toLowerCase(), event.blockedId.toLowerCase(), msg.subject === identitySubjects.blockCreated);
      return;
    }
  }
  // Retrying would not make a malformed event valid; drop it loudly.
  logger.warn({ eventId: msg.id, subject: msg.subject }, "ignored malformed or unexpected social-graph event");
}

export function consumeSocialGraph(bus: EventBus, db: Database, logger: Logger): Promise<Subscription> {
  return bus.consume({
    durable: SOCIAL_GRAPH_CONSUMER,
    subjects: Object.values(identitySubjects),
    // One at a time, in order: a friendship's "created" must not overtake its "removed".
    concurrency: 1,
    handler: async (msg) => {
      await handleOnce(db, inbox, SOCIAL_GRAPH_CONSUMER, msg.id, (tx) => apply(tx, msg, logger));
    },
  });
}
