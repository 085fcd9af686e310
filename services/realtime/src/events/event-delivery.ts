/**
 * Events to this node's sockets, with no hop in between: every edge node
 * consumes every routed event itself (a non-shared consumeOwn, from new
 * messages on), maps it to frames (frame-routes.ts) and hands each frame to the
 * local sockets of the listed recipients (the registry, in memory). This is the
 * shape of Socket.IO's Redis adapter and Centrifugo's broker: no router, no
 * per-node publish, no presence lookup per message; every node decodes every
 * event instead (see README.md, "Delivery").
 *
 * Order: the handler never awaits, so each event is queued on its sockets
 * before the bus starts the next one; events reach every socket in stream
 * order. The bus's concurrency is only its pull batch size here.
 *
 * Recipients with no socket on this node get nothing here: they catch up from
 * history when they connect (Hello cursors), which does not depend on timing.
 */
import type { BusMessage, Subscription } from "@parley/platform";
import { OutFrame } from "../handlers/codec.js";
import type { EdgeContext } from "../handlers/context.js";
import { routesForEvent, type FrameRoute } from "./frame-routes.js";
import { applyConversationChange, hasLeft } from "./membership-changes.js";
import { EDGE_EVENT_SUBJECTS, EDGE_SIGNAL_SUBJECTS } from "./subjects.js";

/**
 * Events the bus pulls per round trip (and may hand over at once). The handler
 * is synchronous, so a batch lands in one turn and each socket's share goes
 * out in one corked write; order is unchanged (see above).
 */
const EVENT_BATCH = 64;

export async function startEventDelivery(ctx: EdgeContext): Promise<Subscription> {
  // One consumer per stream: domain events (PARLEY) and typing/presence signals (PARLEY_SIGNALS).
  const consumers = [
    { name: `edge-events-${ctx.nodeId}`, subjects: EDGE_EVENT_SUBJECTS },
    { name: `edge-signals-${ctx.nodeId}`, subjects: EDGE_SIGNAL_SUBJECTS },
  ];
  const subs: Subscription[] = [];
  try {
    for (const c of consumers) {
      subs.push(await ctx.deps.bus.consumeOwn({ ...c, concurrency: EVENT_BATCH, handler: async (msg) => deliverEvent(ctx, msg) }));
    }
  } catch (err) {
    await Promise.all(subs.map((s) => s.stop()));
    throw err;
  }
  return { stop: async () => void (await Promise.all(subs.map((s) => s.stop()))) };
}

/** Synchronous on purpose: see "Order" above. */
export function deliverEvent(ctx: EdgeContext, msg: BusMessage): void {
  let routes: FrameRoute[];
  try {
    routes = routesForEvent(msg.subject, msg.data);
  } catch (err) {
    // It will not decode on redelivery either, and on no other node: acked, kept in the stream for an operator.
    ctx.logger.error({ err, subject: msg.subject, eventId: msg.id }, "event does not decode; not delivered");
    return;
  }
  for (const route of routes) deliverRoute(ctx, route);
  ctx.metrics.eventsDelivered.inc();
}

function deliverRoute(ctx: EdgeContext, route: FrameRoute): void {
  // Encoded at most once, on the first socket, and only if some recipient is on this node.
  let out: OutFrame | undefined;
  const kind = route.frame.kind;
  for (const userId of route.userIds) {
    const sockets = ctx.registry.socketsOf(userId);
    if (!sockets) continue;
    out ??= new OutFrame(route.frame);
    for (const conn of sockets) {
      // Typing expires in seconds: re-sending it later would be wrong, so it is not acked.
      if (kind.case === "typing") {
        if (conn.helloReceived && !hasLeft(conn, kind.value.conversationId)) conn.sendControl(out);
      } else {
        conn.deliver(out);
        // Membership changes end that conversation's streams on this socket now (membership-changes.ts).
        if (kind.case === "conversation") applyConversationChange(ctx, conn, kind.value);
      }
    }
  }
}
