/**
 * Test helpers (`@parley/platform/testing`): a fresh, isolated platform per
 * call (embedded backends, or with PARLEY_TEST_REAL=1 a database, bus
 * namespace and Redis key prefix of its own on the local servers) and a real
 * server on a free port with Connect, gRPC and gRPC-web transports.
 */
import { randomBytes } from "node:crypto";
import type { Interceptor, Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { Redis } from "ioredis";
import { connect as connectNats } from "nats";
import pg from "pg";
import { pino, type Logger } from "pino";
import { assemblePlatform, type Platform } from "./bootstrap.js";
import { createBus } from "./bus/index.js";
import { loadConfig, type PlatformConfig } from "./config.js";
import { openDatabase } from "./db.js";
import { openSecret } from "./sealed-secret.js";
import { createLogger } from "./logger.js";
import { startServer } from "./server.js";
import { createStores } from "./stores/index.js";
import { createTokenSigner, createTokenVerifier, generateSigningKey } from "./tokens.js";
import type { DatabaseHandle, EventBus, PlatformDeps, ServiceModule, TokenSigner } from "./types.js";

const REAL_PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/test";
const REAL_NATS_URL = "nats://127.0.0.1:4222";
const REAL_REDIS_URL = "redis://127.0.0.1:6379";

export interface TestPlatform {
  deps: Platform;
  /** A valid access token for `userId` (new session unless given). */
  mintAccessToken(userId: string, opts?: { sessionId?: string; ttlSec?: number }): Promise<string>;
  close(): Promise<void>;
}

const randomId = () => randomBytes(6).toString("hex");

/** Creates `parley_t_<random>` on the local Postgres; the returned function drops it. */
export async function createTestDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `parley_t_${randomId()}`;
  const admin = new pg.Client({ connectionString: REAL_PG_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(REAL_PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: REAL_PG_ADMIN_URL });
      await c.connect();
      try {
        // FORCE: a consumer or listener still connected must not leave the database behind.
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** Removes a test platform's Redis keys (some, like last-seen, live for months). */
export async function deleteRedisKeys(url: string, keyPrefix: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true });
  try {
    await redis.connect();
    for await (const keys of redis.scanStream({ match: `${keyPrefix}*`, count: 500 })) {
      const batch = keys as string[];
      if (batch.length > 0) await redis.unlink(...batch);
    }
  } finally {
    redis.disconnect();
  }
}

/**
 * Removes the JetStream streams (and with them their consumers) of one bus
 * namespace, so real-mode runs leave nothing behind on a shared server.
 * Stream names end in `_<namespace>` (see bus/jetstream.ts).
 */
export async function deleteBusNamespace(natsUrl: string, namespace: string): Promise<void> {
  const nc = await connectNats({ servers: natsUrl });
  try {
    const jsm = await nc.jetstreamManager();
    const names: string[] = [];
    for await (const info of jsm.streams.list()) if (info.config.name.endsWith(`_${namespace}`)) names.push(info.config.name);
    await Promise.all(names.map((name) => jsm.streams.delete(name)));
  } finally {
    await nc.close();
  }
}

export async function createTestPlatform(opts: { real?: boolean } = {}): Promise<TestPlatform> {
  const real = opts.real ?? process.env.PARLEY_TEST_REAL === "1";
  const config = loadConfig({
    NODE_ENV: "test",
    LOG_LEVEL: process.env.LOG_LEVEL ?? "silent",
    DATA_DIR: "memory",
    NODE_ID: `test-${randomId()}`,
    // Tests read verification links from the dev mailbox unless they point notification at an SMTP sink.
    DEV_MAILBOX: "true",
    ...(real ? { NATS_URL: REAL_NATS_URL, REDIS_URL: REAL_REDIS_URL } : {}),
  });
  const logger = createLogger(config.logLevel, { test: true });
  const cleanup: (() => Promise<void>)[] = [];
  const closeAll = async () => {
    for (const close of cleanup.splice(0).reverse()) await close().catch((err: unknown) => logger.error({ err }, "test cleanup failed"));
  };
  try {
    let database: DatabaseHandle;
    if (real) {
      const testDb = await createTestDatabase();
      cleanup.push(testDb.drop);
      config.databaseUrl = testDb.url;
      database = await openDatabase({ url: testDb.url, dataDir: "memory", logger });
    } else {
      database = await openDatabase({ dataDir: "memory", logger });
    }
    cleanup.push(() => database.close());
    const namespace = `t_${randomId()}`;
    if (real) cleanup.push(() => deleteBusNamespace(REAL_NATS_URL, namespace));
    const bus: EventBus = await createBus(real ? { natsUrl: REAL_NATS_URL, namespace, logger } : { logger });
    cleanup.push(() => bus.close());
    const keyPrefix = `t:${randomId()}:`;
    if (real) cleanup.push(() => deleteRedisKeys(REAL_REDIS_URL, keyPrefix));
    const stores = await createStores(real ? { redisUrl: REAL_REDIS_URL, keyPrefix, logger } : { logger });
    cleanup.push(() => stores.close());

    const { key } = await generateSigningKey();
    const signer: TokenSigner = createTokenSigner({ key, config });
    const tokens = createTokenVerifier({ config, revocations: stores.revocations, localPublicJwks: signer.jwks() });
    const deps = assemblePlatform({ config, logger, database, bus, stores, tokens, signer, close: closeAll });
    return {
      deps,
      async mintAccessToken(userId, o = {}) {
        // A per-token TTL needs its own signer; the key (and so the verifier) stays the same.
        const s = o.ttlSec === undefined ? signer : createTokenSigner({ key, config: { ...config, jwt: { ...config.jwt, accessTtlSec: o.ttlSec } } });
        const { token } = await s.signAccess({ userId, sessionId: o.sessionId ?? `s-${randomId()}` });
        return token;
      },
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

export interface TestServer {
  baseUrl: string;
  port: number;
  /** /healthz, /readyz and /metrics live here, not on baseUrl. */
  adminUrl: string;
  /** Connect protocol over HTTP/1.1. */
  connect: Transport;
  /** gRPC over h2c. */
  grpc: Transport;
  /** gRPC-web over HTTP/1.1. */
  grpcWeb: Transport;
  close(): Promise<void>;
}

/** Starts the modules (migrations, consumers) and serves them on a free port. */
export async function startTestServer(deps: PlatformDeps, modules: ServiceModule[]): Promise<TestServer> {
  for (const m of modules) await m.start();
  const server = await startServer({ deps, modules, port: 0, adminPort: 0, host: "127.0.0.1", closeGraceMs: 2_000 });
  const baseUrl = server.url;
  // Our own session manager, so close() can end the h2 connection instead of waiting for its idle timeout.
  const h2 = new Http2SessionManager(baseUrl);
  return {
    baseUrl,
    port: server.port,
    adminUrl: server.adminUrl ?? "",
    connect: createConnectTransport({ baseUrl, httpVersion: "1.1" }),
    grpc: createGrpcTransport({ baseUrl, sessionManager: h2 }),
    grpcWeb: createGrpcWebTransport({ baseUrl, httpVersion: "1.1" }),
    async close() {
      h2.abort();
      for (const m of [...modules].reverse()) await m.stop();
      await server.close();
    },
  };
}

/** Client interceptor adding `Authorization: Bearer <token>`. */
export function bearer(token: string): Interceptor {
  return (next) => (req) => {
    req.header.set("Authorization", `Bearer ${token}`);
    return next(req);
  };
}

/** Alias named in the platform README. */
export const authed = bearer;

/**
 * Polls `check` until it returns something other than `false` without
 * throwing; on timeout throws with the last error (or "condition not met").
 */
export async function waitFor(
  check: () => Promise<boolean | void> | boolean | void,
  opts: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const intervalMs = opts.intervalMs ?? 20;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if ((await check()) !== false) return;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const reason = lastError instanceof Error ? lastError.message : lastError !== undefined ? String(lastError) : "condition not met";
      throw new Error(`waitFor: timed out after ${timeoutMs} ms: ${reason}`, { cause: lastError });
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * The verification token a `user.registered`/`verification_requested` event carries sealed for
 * notification, opened with the test platform's key (tests that play the mailer's part).
 */
export function openVerificationToken(
  config: PlatformConfig,
  event: { user?: { id: string }; sealedVerificationToken: Uint8Array },
): string {
  if (!config.verificationTokenKey || !event.user || event.sealedVerificationToken.length === 0) return "";
  return openSecret(config.verificationTokenKey, event.sealedVerificationToken, event.user.id);
}

/** A logger at `trace` that keeps every JSON line it writes, for tests asserting what is (not) logged. */
export function createCapturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger = pino({ level: "trace" }, { write: (line: string) => void lines.push(line) });
  return { logger, lines };
}
