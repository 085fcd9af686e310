/**
 * Presence, rate limits, socket leases, revocations and ephemeral values: Redis when
 * `redisUrl` is set (shared by every replica), otherwise in process memory.
 */
import type { Logger } from "pino";
import { redactText, redactUrl } from "../redact.js";
import type { EphemeralStore, PresenceStore, RateLimiter, RevocationStore, SocketLeaseStore } from "../types.js";
import { createMemoryStores } from "./memory.js";
import { createRedisStores } from "./redis.js";

export interface Stores {
  revocations: RevocationStore;
  rateLimiter: RateLimiter;
  socketLeases: SocketLeaseStore;
  presence: PresenceStore;
  ephemeral: EphemeralStore;
  /** Readiness: resolves when the backend answers. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface CreateStoresOptions {
  redisUrl?: string | undefined;
  /** Prepended to every Redis key (isolates deployments and test runs). Ignored in memory. */
  keyPrefix?: string | undefined;
  logger: Logger;
}

export async function createStores(opts: CreateStoresOptions): Promise<Stores> {
  if (opts.redisUrl) {
    const stores = createRedisStores({ url: opts.redisUrl, keyPrefix: opts.keyPrefix ?? "", logger: opts.logger });
    try {
      // Fail at start-up with a clear message rather than on the first request.
      await stores.ping();
    } catch (err) {
      await stores.close();
      throw new Error(`cannot reach Redis at ${redactUrl(opts.redisUrl)}: ${redactText(err instanceof Error ? err.message : String(err))}`, { cause: err });
    }
    opts.logger.info({ redis: redactUrl(opts.redisUrl), keyPrefix: opts.keyPrefix ?? "" }, "stores: redis");
    return stores;
  }
  const mem = createMemoryStores();
  opts.logger.debug("stores: in memory");
  return { ...mem, ping: async () => {}, close: async () => mem.close() };
}
