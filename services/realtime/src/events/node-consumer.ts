/**
 * This node's own delivery subject: every EdgeDelivery the router addressed to
 * this node goes to every socket of every listed user. A non-shared consumer
 * (consumeOwn): another node must never take this node's deliveries.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { EdgeDeliverySchema } from "@parley/gen/parley/realtime/v1/frames_pb";
import type { Subscription } from "@parley/platform";
import { OutFrame } from "../handlers/codec.js";
import type { EdgeContext } from "../handlers/context.js";
import { applyConversationChange, hasLeft } from "./membership-changes.js";
import { edgeDeliverySubject } from "./subjects.js";

/** Deliveries in flight at once (also the bus's pull batch size). */
const NODE_CONSUMER_BATCH = 64;

export async function startNodeConsumer(ctx: EdgeContext): Promise<Subscription> {
  return ctx.deps.bus.consumeOwn({
    name: `edge-${ctx.nodeId}`,
    subjects: [edgeDeliverySubject(ctx.nodeId)],
    // Lets the bus pull a batch of deliveries instead of one per round trip (concurrency 1 pulled
    // them one at a time), so several fan-outs land in one turn and each socket's share goes out
    // in one corked write. Order per socket is unchanged: the handler never awaits, so each
    // delivery is queued on its sockets in stream order before the next one starts.
    concurrency: NODE_CONSUMER_BATCH,
    handler: async (msg) => {
      const delivery = fromBinary(EdgeDeliverySchema, msg.data);
      if (!delivery.frame) return;
      const out = new OutFrame(delivery.frame);
      const kind = out.frame.kind;
      for (const userId of delivery.userIds) {
        const sockets = ctx.registry.socketsOf(userId);
        if (!sockets) continue;
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
    },
  });
}
