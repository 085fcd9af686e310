/**
 * Builds the backends once per process from the config (the only place the
 * embedded/distributed choice is made) and runs one service as a process.
 */
import { collectDefaultMetrics, Registry } from "prom-client";
import type { Logger } from "pino";
import { createBus } from "./bus/index.js";
import { registerBusMetrics } from "./bus/metrics.js";
import { ConfigError, loadConfig, type PlatformConfig } from "./config.js";
import { openDatabase } from "./db.js";
import { webConfigModule } from "./http/web-config.js";
import { createLogger } from "./logger.js";
import { redactUrl } from "./redact.js";
import { startServer, type ReadinessCheck } from "./server.js";
import { createStores, type Stores } from "./stores/index.js";
import { createTokenSigner, createTokenVerifier, loadSigningKey } from "./tokens.js";
import type { DatabaseHandle, EventBus, PlatformDeps, ServiceModule, TokenSigner, TokenVerifier } from "./types.js";

export interface Platform extends PlatformDeps {
  /** Backends outside PlatformDeps' interfaces that /readyz must check too. */
  readinessChecks: Record<string, ReadinessCheck>;
  /** Closes stores, bus and database (in that order: nothing publishes after the bus is gone). */
  close(): Promise<void>;
}

/** Registry with the process defaults (CPU, memory, event loop lag, GC). */
export function createMetricsRegistry(labels: Record<string, string> = {}): Registry {
  const registry = new Registry();
  registry.setDefaultLabels(labels);
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** The one place backends become a `Platform` (processes and tests alike). */
export function assemblePlatform(parts: {
  config: PlatformConfig;
  logger: Logger;
  database: DatabaseHandle;
  bus: EventBus;
  stores: Stores;
  tokens: TokenVerifier;
  signer: TokenSigner | undefined;
  close: () => Promise<void>;
}): Platform {
  const { stores } = parts;
  const metrics = createMetricsRegistry();
  registerBusMetrics(metrics, parts.bus);
  return {
    config: parts.config,
    logger: parts.logger,
    metrics,
    database: parts.database,
    bus: parts.bus,
    revocations: stores.revocations,
    rateLimiter: stores.rateLimiter,
    socketLeases: stores.socketLeases,
    presence: stores.presence,
    ephemeral: stores.ephemeral,
    tokens: parts.tokens,
    signer: parts.signer,
    readinessChecks: { stores: () => stores.ping() },
    close: parts.close,
  };
}

export async function createPlatform(config: PlatformConfig, logger?: Logger): Promise<Platform> {
  const log = logger ?? createLogger(config.logLevel, { node: config.nodeId });
  // Which backends this process uses, without their passwords or tokens.
  const shown = (url: string | undefined): string => (url ? redactUrl(url) : "embedded");
  log.info(
    { database: shown(config.databaseUrl), nats: shown(config.natsUrl), redis: shown(config.redisUrl), smtp: config.smtpUrl ? redactUrl(config.smtpUrl) : "none" },
    "backends",
  );
  const cleanup: (() => Promise<void>)[] = [];
  try {
    const database = await openDatabase({
      url: config.databaseUrl,
      dataDir: config.dataDir,
      logger: log,
      pool: {
        max: config.db.poolMax,
        connectTimeoutMs: config.db.connectTimeoutMs,
        acquireTimeoutMs: config.db.acquireTimeoutMs,
        statementTimeoutMs: config.db.statementTimeoutMs,
        idleInTxTimeoutMs: config.db.idleInTxTimeoutMs,
      },
    });
    cleanup.push(() => database.close());
    const bus = await createBus({
      natsUrl: config.natsUrl,
      namespace: config.busNamespace || undefined,
      logger: log,
      security: config.nats,
      streamReplicas: config.natsStreamReplicas,
      memoryLimits: config.retention.memoryBus,
      ackWaitMs: config.busAckWaitMs,
    });
    cleanup.push(() => bus.close());
    const stores = await createStores({ redisUrl: config.redisUrl, keyPrefix: config.redisKeyPrefix || undefined, logger: log });
    cleanup.push(() => stores.close());

    // Sign where a private key is available: configured, or (no JWKS_URL) the local/dev key.
    let signer: TokenSigner | undefined;
    if (config.jwt.privateJwk || !config.jwt.jwksUrl) {
      signer = createTokenSigner({ key: await loadSigningKey(config, log), config });
    }
    const tokens = createTokenVerifier({
      config,
      revocations: stores.revocations,
      // JWKS_URL wins for verification so every service follows identity's key rotation.
      localPublicJwks: config.jwt.jwksUrl ? undefined : signer?.jwks(),
    });

    return assemblePlatform({ config, logger: log, database, bus, stores, tokens, signer, close: () => closeAll(cleanup, log) });
  } catch (err) {
    await closeAll(cleanup, log);
    throw err;
  }
}

/** Runs closers newest first; one failing does not keep the others open. */
async function closeAll(cleanup: (() => Promise<void>)[], log: Logger): Promise<void> {
  for (const close of cleanup.splice(0).reverse()) {
    await close().catch((err: unknown) => log.error({ err }, "error while closing a backend"));
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * `main.ts` of a service: config → platform → module → server. On SIGTERM or
 * SIGINT: report not-ready, keep serving for SHUTDOWN_DELAY (endpoint removal
 * races the signal), then stop the module, drain the server and close backends.
 */
export async function runStandalone(factory: (deps: PlatformDeps) => Promise<ServiceModule>): Promise<void> {
  let config: PlatformConfig;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel, { node: config.nodeId });
  try {
    const platform = await createPlatform(config, logger);
    const module = await factory(platform);
    await module.start();
    // The service that serves the web client (WEB_DIST) also tells it where the API and /ws are.
    const modules = config.webDist ? [module, webConfigModule(config)] : [module];
    const server = await startServer({ deps: platform, modules, port: config.httpPort, adminPort: config.adminPort, staticDir: config.webDist });
    logger.info({ svc: module.name, url: server.url, admin: server.adminUrl }, `${module.name} listening on ${server.url}`);

    let stopping = false;
    const shutdown = async (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal, delaySec: config.shutdownDelaySec }, "shutting down");
      server.markNotReady();
      await sleep(config.shutdownDelaySec * 1000);
      await module.stop().catch((err: unknown) => logger.error({ err }, "module stop failed"));
      await server.close();
      await platform.close();
      logger.info("stopped");
      process.exit(0);
    };
    process.on("SIGTERM", (s) => void shutdown(s));
    process.on("SIGINT", (s) => void shutdown(s));
  } catch (err) {
    logger.fatal({ err }, "failed to start");
    process.exit(1);
  }
}
