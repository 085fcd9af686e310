import type { Logger } from "pino";
import type { EventBus } from "../types.js";
import { createJetStreamBus } from "./jetstream.js";
import { createMemoryBus, type MemoryBusLimits } from "./memory.js";
import type { NatsSecurityOptions } from "./nats-options.js";

export { createMemoryBus, type MemoryBusLimits } from "./memory.js";
export { createJetStreamBus } from "./jetstream.js";
export { natsConnectionOptions, type NatsSecurityOptions } from "./nats-options.js";

/** JetStream when `natsUrl` is set, otherwise the in-process bus with the same semantics. */
export async function createBus(opts: {
  natsUrl?: string | undefined;
  namespace?: string | undefined;
  logger: Logger;
  security?: NatsSecurityOptions | undefined;
  /** JetStream stream replicas (NATS_STREAM_REPLICAS); the in-process bus has none. */
  streamReplicas?: number | undefined;
  memoryLimits?: MemoryBusLimits | undefined;
  /** JetStream ack wait of consumers that name none (BUS_ACK_WAIT). */
  ackWaitMs?: number | undefined;
}): Promise<EventBus> {
  if (opts.natsUrl) {
    return createJetStreamBus({
      natsUrl: opts.natsUrl,
      logger: opts.logger,
      security: opts.security,
      streamReplicas: opts.streamReplicas,
      ...(opts.namespace ? { namespace: opts.namespace } : {}),
      ...(opts.ackWaitMs ? { ackWaitMs: opts.ackWaitMs } : {}),
    });
  }
  return createMemoryBus({ logger: opts.logger, ...(opts.memoryLimits ? { limits: opts.memoryLimits } : {}) });
}
export { MAX_EVENT_BYTES, UnpublishableEventError } from "./errors.js";
export { eventCatalog, eventTypeOf, filterFor, type EventCatalog, type EventType } from "./event-catalog.js";
