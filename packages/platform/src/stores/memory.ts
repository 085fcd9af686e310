/**
 * In-process stores for embedded mode and tests. Same semantics as the Redis
 * stores (GCRA rate limits, expiring presence entries pruned on read), but only
 * shared within one process.
 */
import type { EphemeralStore, PresenceInfo, PresenceStore, RateLimiter, RevocationStore, SocketLeaseStore } from "../types.js";
import { gcraStep } from "./gcra.js";

/** Expiring values; expired entries are dropped on read and by a periodic sweep. */
class ExpiringMap<V> {
  private readonly entries = new Map<string, { value: V; expiresAtMs: number }>();

  get(key: string, now = Date.now()): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.expiresAtMs <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return e.value;
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  set(key: string, value: V, expiresAtMs: number): void {
    this.entries.set(key, { value, expiresAtMs });
  }

  sweep(now = Date.now()): void {
    for (const [k, e] of this.entries) if (e.expiresAtMs <= now) this.entries.delete(k);
  }
}

export interface MemoryStores {
  revocations: RevocationStore;
  rateLimiter: RateLimiter;
  socketLeases: SocketLeaseStore;
  presence: PresenceStore;
  ephemeral: EphemeralStore;
  close(): void;
}

export function createMemoryStores(): MemoryStores {
  const revoked = new ExpiringMap<true>();
  /** Rate-limit key -> GCRA theoretical arrival time; the entry expires when the key is fully rested. */
  const arrivals = new ExpiringMap<number>();
  const values = new ExpiringMap<string>();
  /** user -> node -> expiry ms */
  const presence = new Map<string, Map<string, number>>();
  const lastSeen = new Map<string, number>();
  const sets = new Map<string, Set<string>>();
  /** user -> lease id -> expiry ms */
  const leases = new Map<string, Map<string, number>>();

  const liveLeases = (userId: string, now: number): Map<string, number> | undefined => {
    const mine = leases.get(userId);
    if (!mine) return undefined;
    for (const [id, exp] of mine) if (exp <= now) mine.delete(id);
    if (mine.size === 0) leases.delete(userId);
    return mine.size === 0 ? undefined : mine;
  };

  const liveNodes = (userId: string, now: number): string[] => {
    const nodes = presence.get(userId);
    if (!nodes) return [];
    for (const [node, exp] of nodes) if (exp <= now) nodes.delete(node);
    if (nodes.size === 0) presence.delete(userId);
    return [...nodes.keys()];
  };

  // Without a sweep, one-off keys (rate-limit windows per IP) would accumulate forever.
  const sweeper = setInterval(() => {
    const now = Date.now();
    revoked.sweep(now);
    arrivals.sweep(now);
    values.sweep(now);
    for (const user of presence.keys()) liveNodes(user, now);
    for (const user of leases.keys()) liveLeases(user, now);
  }, 60_000);
  sweeper.unref();

  return {
    revocations: {
      async revoke(id, untilMs) {
        if (untilMs > Date.now()) revoked.set(id, true, untilMs);
      },
      async anyRevoked(ids) {
        const now = Date.now();
        return ids.some((id) => revoked.get(id, now) === true);
      },
    },
    rateLimiter: {
      async hit(key, rule) {
        const now = Date.now();
        const { result, newTatMs } = gcraStep(arrivals.get(key, now), now, rule);
        if (newTatMs !== undefined) arrivals.set(key, newTatMs, newTatMs);
        return result;
      },
      async reset(key) {
        arrivals.delete(key);
      },
    },
    socketLeases: {
      async acquire(userId, leaseId, max, ttlMs) {
        const now = Date.now();
        const mine = liveLeases(userId, now) ?? new Map<string, number>();
        if (mine.size >= max && !mine.has(leaseId)) return false;
        mine.set(leaseId, now + ttlMs);
        leases.set(userId, mine);
        return true;
      },
      async refresh(list, ttlMs) {
        const expiresAtMs = Date.now() + ttlMs;
        for (const { userId, leaseId } of list) {
          const mine = leases.get(userId);
          if (mine?.has(leaseId)) mine.set(leaseId, expiresAtMs);
        }
      },
      async release(userId, leaseId) {
        const mine = leases.get(userId);
        mine?.delete(leaseId);
        if (mine?.size === 0) leases.delete(userId);
      },
    },
    presence: {
      async heartbeat(nodeId, userIds, ttlMs) {
        const expiresAtMs = Date.now() + ttlMs;
        for (const user of userIds) {
          let nodes = presence.get(user);
          if (!nodes) presence.set(user, (nodes = new Map()));
          nodes.set(nodeId, expiresAtMs);
        }
      },
      async remove(nodeId, userId, lastSeenMs) {
        const nodes = presence.get(userId);
        nodes?.delete(nodeId);
        if (nodes?.size === 0) presence.delete(userId);
        lastSeen.set(userId, lastSeenMs);
      },
      async nodesOf(userIds) {
        const now = Date.now();
        const out = new Map<string, string[]>();
        for (const user of userIds) {
          const nodes = liveNodes(user, now);
          if (nodes.length > 0) out.set(user, nodes);
        }
        return out;
      },
      async info(userIds) {
        const now = Date.now();
        const out = new Map<string, PresenceInfo>();
        for (const user of userIds) {
          const online = liveNodes(user, now).length > 0;
          out.set(user, { online, lastSeenMs: online ? now : (lastSeen.get(user) ?? 0) });
        }
        return out;
      },
    },
    ephemeral: {
      async set(key, value, ttlMs) {
        values.set(key, value, Date.now() + ttlMs);
      },
      async get(key) {
        return values.get(key);
      },
      async addToSet(key, member) {
        let set = sets.get(key);
        if (!set) sets.set(key, (set = new Set()));
        set.add(member);
      },
      async removeFromSet(key, member) {
        const set = sets.get(key);
        set?.delete(member);
        // Like Redis, an emptied set does not exist.
        if (set?.size === 0) sets.delete(key);
      },
      async replaceSet(key, members) {
        if (members.length === 0) sets.delete(key);
        else sets.set(key, new Set(members));
      },
      async setMembersMany(keys) {
        const out = new Map<string, string[]>();
        for (const key of keys) {
          const set = sets.get(key);
          if (set && set.size > 0) out.set(key, [...set]);
        }
        return out;
      },
    },
    close() {
      clearInterval(sweeper);
    },
  };
}
