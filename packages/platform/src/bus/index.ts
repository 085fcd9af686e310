import type { Logger } from "pino";
import type { EventBus } from "../types.js";
import { createJetStreamBus } from "./jetstream.js";
import { createMemoryBus } from "./memory.js";

export { createMemoryBus } from "./memory.js";
export { createJetStreamBus } from "./jetstream.js";

/** JetStream when `natsUrl` is set, otherwise the in-process bus with the same semantics. */
export async function createBus(opts: { natsUrl?: string; namespace?: string; logger: Logger }): Promise<EventBus> {
  if (opts.natsUrl) {
    return createJetStreamBus({ natsUrl: opts.natsUrl, logger: opts.logger, ...(opts.namespace ? { namespace: opts.namespace } : {}) });
  }
  return createMemoryBus({ logger: opts.logger });
}
export { MAX_EVENT_BYTES, UnpublishableEventError } from "./errors.js";
