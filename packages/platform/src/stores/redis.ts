/**
 * Redis stores for distributed mode: every replica sees the same rate-limit
 * counters, revocations, presence and ephemeral values. `keyPrefix` isolates
 * deployments (and test runs) sharing one Redis.
 */
import { Redis, type ChainableCommander } from "ioredis";
import type { Logger } from "pino";
import type { EphemeralStore, PresenceInfo, PresenceStore, RateLimiter, RevocationStore, SocketLeaseStore } from "../types.js";
import { emissionIntervalMs } from "./gcra.js";
import { chunks, LAST_SEEN_RETENTION_MS, storeKeys } from "./keys.js";

/**
 * GCRA in one atomic step (same arithmetic as stores/gcra.ts): read the key's
 * theoretical arrival time, decide, and store the new one with a TTL that ends
 * when the key is fully rested. The clock is Redis's TIME, so replicas with
 * skewed clocks share one timeline. Returns {allowed, remaining, retryAfterMs}.
 * ARGV: emission interval ms (window / limit), burst.
 */
const RATE_LIMIT_LUA = `
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local stored = redis.call('GET', KEYS[1])
local tat = now
if stored then
  local s = tonumber(stored)
  if s and s > now then tat = s end
end
local newTat = tat + interval
local allowAt = newTat - interval * burst
if allowAt > now then
  return {0, 0, math.max(1, math.ceil(allowAt - now))}
end
redis.call('SET', KEYS[1], string.format('%.3f', newTat), 'PX', math.max(1, math.ceil(newTat - now)))
return {1, math.floor((now - allowAt) / interval), 0}
`;

/**
 * Adds/refreshes one node's entry and lets the whole set expire with its
 * latest entry: a plain PEXPIRE per heartbeat would let a node with a short
 * TTL cut the set's life below another node's live entry.
 */
const PRESENCE_BEAT_LUA = `
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
local latest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], latest[2])
return 1
`;

/**
 * nodesOf for a chunk of users in one script call: the same prune + range per
 * user as two pipelined commands each, but one command for ioredis to build,
 * send and parse. The router and the notification consumer look up every
 * recipient of every message; measured with a 200-member group at 100 msg/s
 * (real NATS + Redis), the 80,000 pipelined commands a second cost enough
 * client-side CPU to triple SendMessage's latency in the same process. Several
 * keys in one script: fine on one Redis (what we deploy), not on Redis Cluster.
 */
const PRESENCE_NODES_LUA = `
local out = {}
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', ARGV[1])
  out[i] = redis.call('ZRANGEBYSCORE', key, '(' .. ARGV[1], '+inf')
end
return out
`;

/**
 * Socket leases: prune expired, refuse at the cap, add, and let the set expire
 * with its latest lease, in one atomic step (two nodes opening a user's last
 * allowed socket at once cannot both get it). ARGV: now, max, expiry, lease id.
 */
const SOCKET_LEASE_ACQUIRE_LUA = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZSCORE', KEYS[1], ARGV[4]) == false and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
local latest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], latest[2])
return 1
`;

/** Extends one lease if it still exists (a released lease is not brought back). ARGV: expiry, lease id. */
const SOCKET_LEASE_REFRESH_LUA = `
if redis.call('ZSCORE', KEYS[1], ARGV[2]) == false then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
local latest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], latest[2])
return 1
`;

/** Custom commands registered with `defineCommand` (sent as EVALSHA, falling back to EVAL). */
interface RedisWithScripts extends Redis {
  parleyRateHit(key: string, intervalMs: number, burst: number): Promise<[number, number, number]>;
  parleyPresenceNodes(numKeys: number, ...keysThenNow: Array<string | number>): Promise<string[][]>;
  parleySocketLeaseAcquire(key: string, nowMs: number, max: number, expiresAtMs: number, leaseId: string): Promise<number>;
}
interface PipelineWithScripts extends ChainableCommander {
  parleyPresenceBeat(key: string, expiresAtMs: number, nodeId: string): this;
  parleySocketLeaseRefresh(key: string, expiresAtMs: number, leaseId: string): this;
}

/** Users per pipeline: bounds the size of one round-trip for nodes holding many users. */
const PIPELINE_CHUNK = 500;

export interface RedisStores {
  revocations: RevocationStore;
  rateLimiter: RateLimiter;
  socketLeases: SocketLeaseStore;
  presence: PresenceStore;
  ephemeral: EphemeralStore;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Throws the first error of a pipeline's results (ioredis reports them per command). */
function resultsOf(results: [Error | null, unknown][] | null, what: string): unknown[] {
  if (!results) throw new Error(`redis ${what}: pipeline returned no results`);
  return results.map(([err, value]) => {
    if (err) throw new Error(`redis ${what}: ${err.message}`, { cause: err });
    return value;
  });
}

export function createRedisStores(opts: { url: string; keyPrefix?: string; logger: Logger }): RedisStores {
  const log = opts.logger.child({ component: "redis" });
  const redis = new Redis(opts.url, {
    keyPrefix: opts.keyPrefix ?? "",
    // Fail a command after a few reconnect attempts instead of queueing it for a
    // long time: callers (interceptors, probes) turn the error into a response.
    maxRetriesPerRequest: 3,
    // Commands issued in one event-loop turn (every RPC's revocation check and rate-limit hit
    // under load) leave in one write: a socket write per command was ~4% of the server's CPU
    // in the 1-1 bench, on a machine where each syscall is dear.
    enableAutoPipelining: true,
  }) as RedisWithScripts;
  redis.defineCommand("parleyRateHit", { numberOfKeys: 1, lua: RATE_LIMIT_LUA });
  redis.defineCommand("parleyPresenceBeat", { numberOfKeys: 1, lua: PRESENCE_BEAT_LUA });
  redis.defineCommand("parleySocketLeaseAcquire", { numberOfKeys: 1, lua: SOCKET_LEASE_ACQUIRE_LUA });
  redis.defineCommand("parleySocketLeaseRefresh", { numberOfKeys: 1, lua: SOCKET_LEASE_REFRESH_LUA });
  // No numberOfKeys: the caller passes the key count first (one key per user).
  redis.defineCommand("parleyPresenceNodes", { lua: PRESENCE_NODES_LUA });
  // ioredis emits "error" on every failed reconnect; unhandled it would crash the process.
  let lastError = "";
  redis.on("error", (err: Error) => {
    if (err.message !== lastError) log.error({ err }, "redis connection error");
    lastError = err.message;
  });
  redis.on("ready", () => {
    lastError = "";
  });

  const revocations: RevocationStore = {
    async revoke(id, untilMs) {
      // Already expired: nothing to remember (and PXAT in the past would be a no-op delete anyway).
      if (untilMs <= Date.now()) return;
      await redis.set(storeKeys.revoked(id), "1", "PXAT", Math.ceil(untilMs));
    },
    async anyRevoked(ids) {
      if (ids.length === 0) return false;
      return (await redis.exists(...ids.map(storeKeys.revoked))) > 0;
    },
  };

  const rateLimiter: RateLimiter = {
    async hit(key, rule) {
      const [allowed, remaining, retryAfterMs] = await redis.parleyRateHit(key, emissionIntervalMs(rule), Math.max(1, rule.burst));
      return { allowed: allowed === 1, remaining, retryAfterMs };
    },
    async reset(key) {
      await redis.del(key);
    },
  };

  const socketLeases: SocketLeaseStore = {
    async acquire(userId, leaseId, max, ttlMs) {
      const now = Date.now();
      return (await redis.parleySocketLeaseAcquire(storeKeys.socketLeases(userId), now, max, now + ttlMs, leaseId)) === 1;
    },
    async refresh(list, ttlMs) {
      const expiresAtMs = Date.now() + ttlMs;
      for (const batch of chunks(list, PIPELINE_CHUNK)) {
        const p = redis.pipeline() as PipelineWithScripts;
        for (const { userId, leaseId } of batch) p.parleySocketLeaseRefresh(storeKeys.socketLeases(userId), expiresAtMs, leaseId);
        resultsOf(await p.exec(), "socket lease refresh");
      }
    },
    async release(userId, leaseId) {
      await redis.zrem(storeKeys.socketLeases(userId), leaseId);
    },
  };

  const presence: PresenceStore = {
    async heartbeat(nodeId, userIds, ttlMs) {
      const expiresAtMs = Date.now() + ttlMs;
      for (const batch of chunks(userIds, PIPELINE_CHUNK)) {
        const p = redis.pipeline() as PipelineWithScripts;
        for (const user of batch) p.parleyPresenceBeat(storeKeys.presence(user), expiresAtMs, nodeId);
        resultsOf(await p.exec(), "presence heartbeat");
      }
    },
    async remove(nodeId, userId, lastSeenMs) {
      const p = redis.pipeline();
      p.zrem(storeKeys.presence(userId), nodeId);
      p.set(storeKeys.lastSeen(userId), String(lastSeenMs), "PX", LAST_SEEN_RETENTION_MS);
      resultsOf(await p.exec(), "presence remove");
    },
    async nodesOf(userIds) {
      const out = new Map<string, string[]>();
      const now = Date.now();
      for (const batch of chunks(userIds, PIPELINE_CHUNK)) {
        const keys = batch.map((user) => storeKeys.presence(user));
        const results = await redis.parleyPresenceNodes(keys.length, ...keys, now);
        batch.forEach((user, i) => {
          const nodes = results[i] ?? [];
          if (nodes.length > 0) out.set(user, nodes);
        });
      }
      return out;
    },
    async info(userIds) {
      const out = new Map<string, PresenceInfo>();
      const now = Date.now();
      for (const batch of chunks(userIds, PIPELINE_CHUNK)) {
        const p = redis.pipeline();
        for (const user of batch) {
          const key = storeKeys.presence(user);
          p.zremrangebyscore(key, "-inf", now);
          p.zcard(key);
          p.get(storeKeys.lastSeen(user));
        }
        const results = resultsOf(await p.exec(), "presence info");
        batch.forEach((user, i) => {
          const online = (results[i * 3 + 1] as number) > 0;
          const stored = results[i * 3 + 2] as string | null;
          out.set(user, { online, lastSeenMs: online ? now : Number(stored ?? 0) });
        });
      }
      return out;
    },
  };

  const ephemeral: EphemeralStore = {
    async set(key, value, ttlMs) {
      await redis.set(storeKeys.ephemeral(key), value, "PX", Math.max(1, Math.ceil(ttlMs)));
    },
    async get(key) {
      return (await redis.get(storeKeys.ephemeral(key))) ?? undefined;
    },
    async addToSet(key, member) {
      await redis.sadd(storeKeys.set(key), member);
    },
    async removeFromSet(key, member) {
      await redis.srem(storeKeys.set(key), member);
    },
    async replaceSet(key, members) {
      // MULTI: a reader never sees the set half rebuilt (deleted but not yet refilled).
      const m = redis.multi();
      m.del(storeKeys.set(key));
      if (members.length > 0) m.sadd(storeKeys.set(key), ...members);
      resultsOf(await m.exec(), "replace set");
    },
    async setMembersMany(keys) {
      const out = new Map<string, string[]>();
      for (const batch of chunks(keys, PIPELINE_CHUNK)) {
        const p = redis.pipeline();
        for (const key of batch) p.smembers(storeKeys.set(key));
        const results = resultsOf(await p.exec(), "set members");
        batch.forEach((key, i) => {
          const members = results[i] as string[];
          if (members.length > 0) out.set(key, members);
        });
      }
      return out;
    },
  };

  return {
    revocations,
    rateLimiter,
    socketLeases,
    presence,
    ephemeral,
    async ping() {
      await redis.ping();
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
