/**
 * Stores, table-tested against memory and a real Redis (random key prefix per
 * run), so both backends keep the same semantics.
 */
import { randomBytes } from "node:crypto";
import { pino } from "pino";
import { afterAll, describe, expect, it, vi } from "vitest";
import { createStores, type Stores } from "../src/stores/index.js";
import { deleteRedisKeys } from "../src/testing.js";
import type { RateLimitRule } from "../src/types.js";

// Real sleeps against real Redis; a loaded CI box must not turn them into timeouts.
vi.setConfig({ testTimeout: 20_000, hookTimeout: 20_000 });

const logger = pino({ level: process.env.LOG_LEVEL ?? "silent" });
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rand = () => randomBytes(5).toString("hex");

interface Backend {
  name: string;
  /** Two handles on the same backend, as two replicas would have. */
  open(): Promise<[Stores, Stores]>;
}

const opened: Stores[] = [];
const prefixes: string[] = [];
afterAll(async () => {
  await Promise.all(opened.map((s) => s.close()));
  await Promise.all(prefixes.map((p) => deleteRedisKeys(REDIS_URL, p)));
});

const backends: Backend[] = [
  {
    name: "memory",
    async open() {
      // Memory is per process: both "replicas" share one instance.
      const s = await createStores({ logger });
      opened.push(s);
      return [s, s];
    },
  },
  {
    name: "redis",
    async open() {
      const keyPrefix = `test:stores:${rand()}:`;
      prefixes.push(keyPrefix);
      const a = await createStores({ redisUrl: REDIS_URL, keyPrefix, logger });
      const b = await createStores({ redisUrl: REDIS_URL, keyPrefix, logger });
      opened.push(a, b);
      return [a, b];
    },
  },
];

describe.each(backends)("stores on $name", (backend) => {
  describe("rate limiter (GCRA)", () => {
    const hitAll = (stores: [Stores, Stores], key: string, n: number, rule: RateLimitRule) =>
      Promise.all(Array.from({ length: n }, (_, i) => stores[i % 2]!.rateLimiter.hit(key, rule)));

    it("counts hits across replicas and reports remaining and an exact retry-after", async () => {
      const [a, b] = await backend.open();
      const key = `rl:test:${rand()}`;
      // 3 per 30 s, all 3 at once: one call's worth comes back every 10 s.
      const rule = { limit: 3, windowMs: 30_000, burst: 3 };
      expect(await a.rateLimiter.hit(key, rule)).toEqual({ allowed: true, remaining: 2, retryAfterMs: 0 });
      expect(await b.rateLimiter.hit(key, rule)).toMatchObject({ allowed: true, remaining: 1 });
      expect(await a.rateLimiter.hit(key, rule)).toMatchObject({ allowed: true, remaining: 0 });
      // The second replica sees the same state; the wait is one interval, not the whole window.
      const over = await b.rateLimiter.hit(key, rule);
      expect(over.allowed).toBe(false);
      expect(over.remaining).toBe(0);
      expect(over.retryAfterMs).toBeGreaterThan(9_000);
      expect(over.retryAfterMs).toBeLessThanOrEqual(10_000);
    });

    it("lets exactly `burst` of many concurrent hits through, then one more after window/limit", async () => {
      const stores = await backend.open();
      const key = `rl:test:${rand()}`;
      // 60 a minute (one per second sustained), 10 at once.
      const rule = { limit: 60, windowMs: 60_000, burst: 10 };
      const first = await hitAll(stores, key, 50, rule);
      expect(first.filter((r) => r.allowed)).toHaveLength(10);
      const refused = first.filter((r) => !r.allowed);
      expect(refused.every((r) => r.retryAfterMs > 0 && r.retryAfterMs <= 1_000)).toBe(true);
      // retry-after is accurate: waiting it out admits exactly one more call, not a new window's worth.
      await sleep(Math.max(...refused.map((r) => r.retryAfterMs)) + 50);
      const second = await hitAll(stores, key, 20, rule);
      expect(second.filter((r) => r.allowed)).toHaveLength(1);
    });

    it("never doubles across a window edge", async () => {
      const stores = await backend.open();
      const key = `rl:test:${rand()}`;
      const rule = { limit: 10, windowMs: 1_000, burst: 2 };
      // A fixed window let 10 through here and 10 more right after the edge.
      expect((await hitAll(stores, key, 20, rule)).filter((r) => r.allowed)).toHaveLength(2);
      await sleep(1_050);
      expect((await hitAll(stores, key, 20, rule)).filter((r) => r.allowed)).toHaveLength(2);
    });

    it("refills at the sustained rate and refused calls cost nothing", async () => {
      const [a] = await backend.open();
      const key = `rl:test:${rand()}`;
      const rule = { limit: 1, windowMs: 600, burst: 1 };
      expect((await a.rateLimiter.hit(key, rule)).allowed).toBe(true);
      for (let i = 0; i < 5; i++) expect((await a.rateLimiter.hit(key, rule)).allowed).toBe(false);
      await sleep(700);
      expect(await a.rateLimiter.hit(key, rule)).toEqual({ allowed: true, remaining: 0, retryAfterMs: 0 });
    });

    it("forgets a key on reset, on every replica", async () => {
      const [a, b] = await backend.open();
      const key = `rl:test:${rand()}`;
      const rule = { limit: 1, windowMs: 60_000, burst: 1 };
      await a.rateLimiter.hit(key, rule);
      expect((await b.rateLimiter.hit(key, rule)).allowed).toBe(false);
      await b.rateLimiter.reset(key);
      expect((await a.rateLimiter.hit(key, rule)).allowed).toBe(true);
    });

    it("keeps keys apart", async () => {
      const [a] = await backend.open();
      const k1 = `rl:test:${rand()}`;
      const k2 = `rl:test:${rand()}`;
      const rule = { limit: 1, windowMs: 10_000, burst: 1 };
      await a.rateLimiter.hit(k1, rule);
      expect((await a.rateLimiter.hit(k1, rule)).allowed).toBe(false);
      expect((await a.rateLimiter.hit(k2, rule)).allowed).toBe(true);
    });
  });

  describe("socket leases", () => {
    it("cap a user's sockets across replicas, atomically", async () => {
      const [a, b] = await backend.open();
      const user = rand();
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).socketLeases.acquire(user, `s${i}`, 3, 10_000)));
      expect(results.filter(Boolean)).toHaveLength(3);
      // Another user is not affected; a released lease frees a slot.
      expect(await a.socketLeases.acquire(rand(), "x", 3, 10_000)).toBe(true);
      const held = results.map((ok, i) => (ok ? `s${i}` : undefined)).filter((id): id is string => id !== undefined);
      await b.socketLeases.release(user, held[0]!);
      expect(await a.socketLeases.acquire(user, "new", 3, 10_000)).toBe(true);
      expect(await a.socketLeases.acquire(user, "newer", 3, 10_000)).toBe(false);
    });

    it("let leases of a dead node expire unless refreshed, and never revive released ones", async () => {
      const [a, b] = await backend.open();
      const user = rand();
      expect(await a.socketLeases.acquire(user, "kept", 2, 400)).toBe(true);
      expect(await b.socketLeases.acquire(user, "dead", 2, 400)).toBe(true);
      expect(await a.socketLeases.acquire(user, "released", 3, 10_000)).toBe(true);
      await a.socketLeases.release(user, "released");
      await sleep(200);
      await a.socketLeases.refresh([{ userId: user, leaseId: "kept" }, { userId: user, leaseId: "released" }], 10_000);
      await sleep(300);
      // "dead" expired, "kept" was refreshed, "released" stayed released: one slot of two is free.
      expect(await b.socketLeases.acquire(user, "n1", 2, 10_000)).toBe(true);
      expect(await b.socketLeases.acquire(user, "n2", 2, 10_000)).toBe(false);
    });
  });

  describe("revocations", () => {
    it("reports any revoked id, on every replica, until it expires", async () => {
      const [a, b] = await backend.open();
      const jti = `jti:${rand()}`;
      const sid = `sid:${rand()}`;
      expect(await b.revocations.anyRevoked([jti, sid])).toBe(false);
      await a.revocations.revoke(sid, Date.now() + 1_000);
      expect(await b.revocations.anyRevoked([jti, sid])).toBe(true);
      expect(await b.revocations.anyRevoked([jti])).toBe(false);
      expect(await b.revocations.anyRevoked([])).toBe(false);
      await sleep(1_100);
      expect(await b.revocations.anyRevoked([jti, sid])).toBe(false);
    });

    it("ignores revocations that already expired", async () => {
      const [a] = await backend.open();
      const id = `jti:${rand()}`;
      await a.revocations.revoke(id, Date.now() - 1);
      expect(await a.revocations.anyRevoked([id])).toBe(false);
    });
  });

  describe("presence", () => {
    it("lists live nodes per user and prunes a node that stopped heartbeating", async () => {
      const [a, b] = await backend.open();
      const [u1, u2, u3] = [rand(), rand(), rand()];
      await a.presence.heartbeat("node-a", [u1, u2], 10_000);
      await b.presence.heartbeat("node-b", [u1], 200);
      let nodes = await a.presence.nodesOf([u1, u2, u3]);
      expect(nodes.get(u1)?.sort()).toEqual(["node-a", "node-b"]);
      expect(nodes.get(u2)).toEqual(["node-a"]);
      expect(nodes.has(u3)).toBe(false);

      // node-b dies (no more heartbeats); its entries age out with no one removing them.
      await sleep(300);
      nodes = await b.presence.nodesOf([u1, u2]);
      expect(nodes.get(u1)).toEqual(["node-a"]);
      // A heartbeat refreshes the expiry (timings leave slack for a loaded machine).
      await a.presence.heartbeat("node-a", [u1], 1_000);
      await sleep(600);
      await a.presence.heartbeat("node-a", [u1], 1_000);
      await sleep(600);
      expect((await a.presence.nodesOf([u1])).get(u1)).toEqual(["node-a"]);
    });

    it("reports online and last seen", async () => {
      const [a, b] = await backend.open();
      const [u1, u2] = [rand(), rand()];
      const before = Date.now();
      await a.presence.heartbeat("node-a", [u1], 10_000);
      let info = await b.presence.info([u1, u2]);
      expect(info.get(u1)?.online).toBe(true);
      expect(info.get(u1)?.lastSeenMs).toBeGreaterThanOrEqual(before);
      expect(info.get(u2)).toEqual({ online: false, lastSeenMs: 0 });

      await a.presence.remove("node-a", u1, 1_700_000_000_000);
      info = await b.presence.info([u1]);
      expect(info.get(u1)).toEqual({ online: false, lastSeenMs: 1_700_000_000_000 });
      expect((await b.presence.nodesOf([u1])).has(u1)).toBe(false);
    });

    it("handles heartbeats for more users than one pipeline chunk", async () => {
      const [a] = await backend.open();
      const users = Array.from({ length: 1_234 }, () => rand());
      await a.presence.heartbeat("node-a", users, 10_000);
      const nodes = await a.presence.nodesOf(users);
      expect(nodes.size).toBe(users.length);
    });
  });

  describe("ephemeral", () => {
    it("keeps a value until its TTL, visible to every replica", async () => {
      const [a, b] = await backend.open();
      const key = `typing:${rand()}`;
      expect(await b.ephemeral.get(key)).toBeUndefined();
      await a.ephemeral.set(key, "v1", 1_000);
      expect(await b.ephemeral.get(key)).toBe("v1");
      await sleep(1_100);
      expect(await b.ephemeral.get(key)).toBeUndefined();
    });

    it("keeps string sets: add, remove, replace, read many at once, on every replica", async () => {
      const [a, b] = await backend.open();
      const [k1, k2, missing] = [`blocks:${rand()}`, `blocks:${rand()}`, `blocks:${rand()}`];
      await a.ephemeral.addToSet(k1, "x");
      await a.ephemeral.addToSet(k1, "y");
      await a.ephemeral.addToSet(k1, "x");
      await b.ephemeral.addToSet(k2, "z");
      const read = async (keys: string[]) => {
        const m = await b.ephemeral.setMembersMany(keys);
        return Object.fromEntries([...m].map(([k, v]) => [k, [...v].sort()]));
      };
      expect(await read([k1, k2, missing])).toEqual({ [k1]: ["x", "y"], [k2]: ["z"] });
      await b.ephemeral.removeFromSet(k1, "x");
      await b.ephemeral.removeFromSet(missing, "x");
      expect(await read([k1])).toEqual({ [k1]: ["y"] });
      // Removing the last member makes the set absent, not an empty entry.
      await a.ephemeral.removeFromSet(k2, "z");
      expect(await read([k2])).toEqual({});
      await a.ephemeral.replaceSet(k1, ["p", "q"]);
      expect(await read([k1])).toEqual({ [k1]: ["p", "q"] });
      await a.ephemeral.replaceSet(k1, []);
      expect(await read([k1, k2])).toEqual({});
      // Sets and TTL values live under different keys: same name, no clash.
      await a.ephemeral.set(k1, "v", 10_000);
      await a.ephemeral.addToSet(k1, "m");
      expect(await b.ephemeral.get(k1)).toBe("v");
      expect(await read([k1])).toEqual({ [k1]: ["m"] });
    });

    it("reads sets for more keys than one pipeline chunk", async () => {
      const [a] = await backend.open();
      const keys = Array.from({ length: 1_200 }, (_, i) => `many:${i}:${rand()}`);
      await a.ephemeral.addToSet(keys[1_150]!, "last");
      await a.ephemeral.addToSet(keys[3]!, "first");
      const m = await a.ephemeral.setMembersMany(keys);
      expect([...m.entries()]).toEqual([
        [keys[3], ["first"]],
        [keys[1_150], ["last"]],
      ]);
    });
  });

  it("answers ping", async () => {
    const [a] = await backend.open();
    await expect(a.ping()).resolves.toBeUndefined();
  });
});

describe("redis isolation", () => {
  it("keeps key prefixes apart", async () => {
    const [pa, pb] = [`test:iso:${rand()}:`, `test:iso:${rand()}:`];
    prefixes.push(pa, pb);
    const a = await createStores({ redisUrl: REDIS_URL, keyPrefix: pa, logger });
    const b = await createStores({ redisUrl: REDIS_URL, keyPrefix: pb, logger });
    opened.push(a, b);
    await a.revocations.revoke("jti:x", Date.now() + 10_000);
    expect(await a.revocations.anyRevoked(["jti:x"])).toBe(true);
    expect(await b.revocations.anyRevoked(["jti:x"])).toBe(false);
  });

  it("fails fast with a clear error when Redis is unreachable", async () => {
    await expect(createStores({ redisUrl: "redis://127.0.0.1:1", logger })).rejects.toThrow(/cannot reach Redis at redis:\/\/127\.0\.0\.1:1/);
  });
});
