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
import { edgeDeliverySubject } from "./subjects.js";

export async function startNodeConsumer(ctx: EdgeContext): Promise<Subscription> {
  return ctx.deps.bus.consumeOwn({
    name: `edge-${ctx.nodeId}`,
    subjects: [edgeDeliverySubject(ctx.nodeId)],
    handler: async (msg) => {
      const delivery = fromBinary(EdgeDeliverySchema, msg.data);
      if (!delivery.frame) return;
      const out = new OutFrame(delivery.frame);
      const ephemeral = out.frame.kind.case === "typing";
      for (const userId of delivery.userIds) {
        const sockets = ctx.registry.socketsOf(userId);
        if (!sockets) continue;
        for (const conn of sockets) {
          // Typing expires in seconds: re-sending it later would be wrong, so it is not acked.
          if (ephemeral) {
            if (conn.helloReceived) conn.sendControl(out);
          } else {
            conn.deliver(out);
          }
        }
      }
    },
  });
}
