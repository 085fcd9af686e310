/**
 * Projection of identity's social graph into chat's own tables. Each event is
 * applied once (inbox), so redeliveries are no-ops.
 */
import {
  BlockEventSchema,
  FriendshipEventSchema,
  SocialGraphSliceEventSchema,
  SocialGraphSliceEvent_Kind,
  type GraphEdge,
} from "@parley/gen/parley/identity/v1/events_pb";
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
import { replaceEdgeRange, setBlock, setFriendship } from "../store/social-graph.js";
import { identitySubjects } from "./subjects.js";

export const SOCIAL_GRAPH_CONSUMER = "chat-social-graph";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type Logger = PlatformDeps["logger"];

/** An unset slice bound. */
const OPEN = "open";

/** Lower-cased ids; undefined if either is not a UUID (the slice is then dropped as malformed). */
function normalEdge(e: GraphEdge): { first: string; second: string } | undefined {
  if (!UUID.test(e.first) || !UUID.test(e.second)) return undefined;
  return { first: e.first.toLowerCase(), second: e.second.toLowerCase() };
}

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
    case identitySubjects.graphSlice: {
      const event = decodeEvent(SocialGraphSliceEventSchema, msg);
      const kind = event.kind === SocialGraphSliceEvent_Kind.FRIENDSHIP ? "friendship" : event.kind === SocialGraphSliceEvent_Kind.BLOCK ? "block" : undefined;
      const edges = event.edges.map(normalEdge).filter((e) => e !== undefined);
      const after = event.after ? normalEdge(event.after) : OPEN;
      const through = event.through ? normalEdge(event.through) : OPEN;
      if (kind === undefined || edges.length !== event.edges.length || after === undefined || through === undefined) break;
      await replaceEdgeRange(tx, kind, { after: after === OPEN ? undefined : after, through: through === OPEN ? undefined : through }, edges);
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
