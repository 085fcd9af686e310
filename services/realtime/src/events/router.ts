/**
 * The router: one durable consumer shared by every edge node (each event is
 * routed once, by whichever node gets it). It turns an event into frames,
 * finds the nodes holding each recipient, and publishes one EdgeDelivery per
 * node. The source event is acked only after every node publish resolved, so a
 * crash in between redelivers the event (at-least-once end to end; the
 * per-node msgId lets the broker drop the repeats it already stored).
 *
 * Recipients with no live node get nothing here: they catch up from history
 * when they connect (Hello cursors), which is the only path that does not
 * depend on timing.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { EdgeDeliverySchema } from "@parley/gen/parley/realtime/v1/frames_pb";
import type { BusMessage, EventBus, PresenceStore, Subscription } from "@parley/platform";
import type { RealtimeMetrics } from "../metrics.js";
import { routesForEvent } from "./frame-routes.js";
import { ROUTER_DURABLE, ROUTER_EVENT_SUBJECTS, ROUTER_SIGNAL_SUBJECTS, SIGNAL_ROUTER_DURABLE, edgeDeliverySubject } from "./subjects.js";

export interface RouterDeps {
  bus: EventBus;
  presence: PresenceStore;
  metrics: RealtimeMetrics;
  concurrency: number;
}

export async function startRouter(deps: RouterDeps): Promise<Subscription> {
  const consumers = [
    { durable: ROUTER_DURABLE, subjects: ROUTER_EVENT_SUBJECTS },
    { durable: SIGNAL_ROUTER_DURABLE, subjects: ROUTER_SIGNAL_SUBJECTS },
  ];
  const subs: Subscription[] = [];
  try {
    for (const c of consumers) {
      subs.push(await deps.bus.consume({ ...c, concurrency: deps.concurrency, handler: (msg) => routeEvent(deps, msg) }));
    }
  } catch (err) {
    await Promise.all(subs.map((s) => s.stop()));
    throw err;
  }
  return { stop: async () => void (await Promise.all(subs.map((s) => s.stop()))) };
}

export async function routeEvent(deps: Pick<RouterDeps, "bus" | "presence" | "metrics">, msg: BusMessage): Promise<void> {
  // A payload that does not decode will not decode on redelivery either: let
  // the bus dead-letter it after maxDeliver (kept for an operator) rather than ack it away.
  const routes = routesForEvent(msg.subject, msg.data);
  const publishes: Promise<void>[] = [];
  for (const [index, route] of routes.entries()) {
    if (route.userIds.length === 0) continue;
    const nodesByUser = await deps.presence.nodesOf([...new Set(route.userIds)]);
    const usersByNode = new Map<string, string[]>();
    for (const [userId, nodes] of nodesByUser) {
      for (const node of nodes) {
        let users = usersByNode.get(node);
        if (!users) usersByNode.set(node, (users = []));
        users.push(userId);
      }
    }
    for (const [nodeId, userIds] of usersByNode) {
      const delivery = create(EdgeDeliverySchema, { userIds, frame: route.frame });
      // Routes after the first get their index in the id so they are not deduped against it.
      const msgId = index === 0 ? `${msg.id}:${nodeId}` : `${msg.id}#${index}:${nodeId}`;
      publishes.push(deps.bus.publish(edgeDeliverySubject(nodeId), toBinary(EdgeDeliverySchema, delivery), msgId));
    }
  }
  await Promise.all(publishes);
  deps.metrics.routedEvents.inc();
}
