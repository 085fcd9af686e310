/**
 * Process configuration from the environment, validated once at start-up.
 * Every setting is here with its env name, default and meaning; a bad value
 * stops the process with a message naming the variable.
 */
import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import { z } from "zod";
import { parseTrustProxy, type TrustProxy } from "./http/client-ip.js";

export type { TrustProxy };

const port = z.coerce.number().int().min(0).max(65535);
const url = z.string().url();
const seconds = z.coerce.number().int().positive();
const count = z.coerce.number().int().positive();

const envSchema = z.object({
  /** development | production | test. */
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  /** pino level. */
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** Postgres connection string; unset = embedded PGlite under DATA_DIR. */
  DATABASE_URL: url.optional(),
  /** Where embedded PGlite and the dev signing key live; "memory" keeps nothing on disk. */
  DATA_DIR: z.string().min(1).default("./data"),
  /** NATS with JetStream; unset = in-process bus. */
  NATS_URL: url.optional(),
  /** NATS auth/TLS beyond NATS_URL's own user:pass@ / token@ / tls://: creds file (JWT + seed), nkey seed file, CA and client cert/key files. */
  NATS_CREDS_FILE: z.string().optional(),
  NATS_NKEY_SEED_FILE: z.string().optional(),
  NATS_TLS_CA_FILE: z.string().optional(),
  NATS_TLS_CERT_FILE: z.string().optional(),
  NATS_TLS_KEY_FILE: z.string().optional(),
  /**
   * Replicas of each JetStream stream the services create (default 1, one server). 3 on the
   * production 3-node JetStream cluster, so streams survive losing a server. NATS allows 1–5 and
   * at most the cluster's size; a single server refuses more than 1, which stops the start.
   */
  NATS_STREAM_REPLICAS: z.coerce.number().int().min(1).max(5).default(1),
  /** Postgres pool size per process (default 10). */
  DB_POOL_MAX: count.default(10),
  /** Milliseconds to open a Postgres connection before the call fails `unavailable` (default 5000). */
  DB_CONNECT_TIMEOUT_MS: count.default(5_000),
  /**
   * Milliseconds a call may wait for a free pooled connection before it fails `unavailable`
   * (default 30000). Longer than the connect timeout: a burst queues behind busy connections,
   * which is load, not an outage.
   */
  DB_ACQUIRE_TIMEOUT_MS: count.default(30_000),
  /** Milliseconds a statement may run (server-side statement_timeout, and the client gives up shortly after: a blackholed server never answers). Default 15000. */
  DB_STATEMENT_TIMEOUT_MS: count.default(15_000),
  /** Milliseconds a session may sit idle inside a transaction before Postgres ends it (default 30000). */
  DB_IDLE_IN_TX_TIMEOUT_MS: count.default(30_000),
  /** Seconds an inbox (processed_events) row is kept: longer than the bus can redeliver an event (7-day stream) plus a day. */
  INBOX_RETENTION: seconds.default(8 * 24 * 3600),
  /** Seconds a read notification is kept (default 90 days); unread ones stay. */
  NOTIFICATION_READ_RETENTION: seconds.default(90 * 24 * 3600),
  /** Seconds expired/used refresh and verification tokens are kept after they stopped being usable (default 7 days, for audits). */
  TOKEN_RETENTION: seconds.default(7 * 24 * 3600),
  /** Seconds between retention sweeps in each process (default 900). */
  RETENTION_INTERVAL: seconds.default(900),
  /** In-process bus (embedded mode): events kept at most this many seconds / this many / this many bytes per stream. */
  BUS_MEMORY_MAX_AGE: seconds.default(600),
  BUS_MEMORY_MAX_EVENTS: count.default(100_000),
  BUS_MEMORY_MAX_BYTES: count.default(64 * 1024 * 1024),
  /** Redis for presence, rate limits, revocations; unset = in memory. */
  REDIS_URL: url.optional(),
  /** Isolates one Parley installation on a shared NATS (stream-name suffix, subject and durable prefix). */
  /**
   * Seconds JetStream waits for a consumer's ack before it redelivers (every durable and own
   * consumer). Default 30; the chaos suite shortens it so a paused process outlives it in seconds.
   */
  BUS_ACK_WAIT: seconds.default(30),
  BUS_NAMESPACE: z.string().regex(/^[A-Za-z0-9_]*$/, "letters, digits and '_' only").default(""),
  /** Prefix of every Redis key, for the same reason. */
  REDIS_KEY_PREFIX: z.string().default(""),
  /** Connect/gRPC/gRPC-web (and the web UI in embedded mode): the public port. */
  PORT: port.default(8080),
  /** /healthz, /readyz (with failure details) and /metrics: cluster-internal only, never routed by the ingress. */
  ADMIN_PORT: port.default(9090),
  /** Realtime WebSocket edge. */
  WS_PORT: port.default(8081),
  /** Base URL people open (links in emails). */
  PUBLIC_URL: url.default("http://localhost:8080"),
  /** WebSocket URL clients connect to; default derived from PUBLIC_URL and WS_PORT. */
  PUBLIC_WS_URL: url.optional(),
  /**
   * Comma-separated origins allowed to call the API from a browser; "*" allows any.
   * Default: "*" in development/test, none in production (the web client served
   * from the same origin needs no CORS; other origins must be listed).
   */
  CORS_ORIGINS: z.string().optional(),
  JWT_ISSUER: z.string().min(1).default("parley"),
  JWT_AUDIENCE: z.string().min(1).default("parley-api"),
  ACCESS_TOKEN_TTL: seconds.default(900),
  REFRESH_TOKEN_TTL: seconds.default(30 * 24 * 3600),
  /**
   * Seconds after a refresh token was rotated during which presenting it again
   * returns the same successor (a client retrying after a lost response)
   * instead of counting as reuse and ending the session; 0 = no grace.
   */
  REFRESH_REUSE_GRACE_SEC: z.coerce.number().int().min(0).max(300).default(30),
  /** Ed25519 private JWK (JSON) identity signs with; unset = generated and kept under DATA_DIR. */
  JWT_PRIVATE_JWK: z.string().optional(),
  /** Other services verify against this JWKS (identity's /.well-known/jwks.json); unset = the local key. */
  JWKS_URL: url.optional(),
  /**
   * smtp://user:pass@host:port. Required in production while EMAIL_VERIFICATION is on; elsewhere
   * unset needs DEV_MAILBOX=true (or EMAIL_VERIFICATION=off) wherever notification runs.
   */
  SMTP_URL: url.optional(),
  MAIL_FROM: z.string().default("Parley <no-reply@parley.local>"),
  /**
   * true = mail is kept in an in-memory mailbox that anyone can read through the public
   * DevMailboxService (embedded development only; `make dev` sets it). Refused in production.
   */
  DEV_MAILBOX: z.enum(["true", "false"]).default("false"),
  /**
   * on = accounts must verify their email before logging in. off = accounts are verified on
   * register and no verification mail is sent; logged as a warning at start and shown in /readyz.
   */
  EMAIL_VERIFICATION: z.enum(["on", "off"]).default("on"),
  /** Seconds a verification link works; an account not verified within it expires and frees its email and username. */
  EMAIL_VERIFICATION_TTL: seconds.default(24 * 3600),
  /**
   * 32 random bytes, base64: identity seals verification tokens with it so the event stream never
   * holds a usable link; notification opens them. Both need the same value. Required in production
   * by those two services; elsewhere unset = a random key per process.
   */
  VERIFICATION_TOKEN_KEY: z
    .string()
    .refine((v) => Buffer.from(v, "base64").length === 32, "must be 32 bytes, base64 (openssl rand -base64 32)")
    .optional(),
  /** Identity of this process in presence and edge routing; unique per pod. */
  NODE_ID: z.string().regex(/^[A-Za-z0-9_-]+$/, "letters, digits, '_' and '-' only").optional(),
  /**
   * Which X-Forwarded-For entries to believe for the client IP (rate limits per IP).
   * "false" (default): none, the socket address is the client. "true" = 1: one proxy
   * (the ingress) in front, the client is the entry it appended (the rightmost). A number
   * N: N proxies in front. Or a comma-separated list of trusted proxy IPs/CIDRs
   * ("10.0.0.0/8,fd00::/8", also "loopback", "uniquelocal"). Entries left of the trusted
   * hops are written by the client and never used.
   */
  TRUST_PROXY: z.string().default("false"),
  /** Seconds to keep serving after SIGTERM before closing (endpoint removal races SIGTERM). */
  SHUTDOWN_DELAY: z.coerce.number().min(0).default(0),
  /**
   * Seconds a realtime edge's presence entry lives without a heartbeat (heartbeats every third of
   * it): how long a crashed node's users still look online. Default 60.
   */
  PRESENCE_TTL: seconds.default(60),
  /** Open WebSockets one user may hold across all edge nodes; one more is closed 4429 at open. */
  WS_MAX_SOCKETS_PER_USER: z.coerce.number().int().positive().default(20),
  /** Multiplies every rate-limit policy's limit and burst (load tests raise it). */
  RATE_LIMIT_SCALE: z.coerce.number().positive().default(1),
  /** Directory of the built web client to serve; unset = none. */
  WEB_DIST: z.string().optional(),
  /**
   * Seconds between identity's full passes over the social graph
   * (`parley.identity.graph.slice` events) that projections reconcile
   * against; 0 turns them off. Default 6 hours.
   */
  GRAPH_RECONCILE_INTERVAL: z.coerce.number().int().min(0).default(6 * 3600),
});

export interface PlatformConfig {
  env: "development" | "production" | "test";
  logLevel: string;
  databaseUrl: string | undefined;
  dataDir: string;
  natsUrl: string | undefined;
  nats: {
    credsFile: string | undefined;
    nkeySeedFile: string | undefined;
    tlsCaFile: string | undefined;
    tlsCertFile: string | undefined;
    tlsKeyFile: string | undefined;
  };
  /** NATS_STREAM_REPLICAS. */
  natsStreamReplicas: number;
  db: { poolMax: number; connectTimeoutMs: number; acquireTimeoutMs: number; statementTimeoutMs: number; idleInTxTimeoutMs: number };
  retention: {
    inboxSec: number;
    readNotificationSec: number;
    tokenSec: number;
    intervalSec: number;
    memoryBus: { maxAgeMs: number; maxEvents: number; maxBytes: number };
  };
  redisUrl: string | undefined;
  busAckWaitMs: number;
  busNamespace: string;
  redisKeyPrefix: string;
  httpPort: number;
  adminPort: number;
  wsPort: number;
  publicUrl: string;
  publicWsUrl: string;
  corsOrigins: string[];
  jwt: {
    issuer: string;
    audience: string;
    accessTtlSec: number;
    refreshTtlSec: number;
    /** REFRESH_REUSE_GRACE_SEC. */
    refreshReuseGraceSec: number;
    privateJwk: string | undefined;
    jwksUrl: string | undefined;
  };
  smtpUrl: string | undefined;
  mailFrom: string;
  /** The public in-memory dev mailbox exists (embedded development only). */
  devMailbox: boolean;
  /** false = accounts are verified on register (EMAIL_VERIFICATION=off). */
  emailVerification: boolean;
  emailVerificationTtlSec: number;
  /** Unset only in production without VERIFICATION_TOKEN_KEY (identity and notification then refuse to start). */
  verificationTokenKey: Uint8Array | undefined;
  nodeId: string;
  /** Parsed TRUST_PROXY: trusted hop count, or trusted proxy addresses/CIDRs. */
  trustProxy: TrustProxy;
  shutdownDelaySec: number;
  wsMaxSocketsPerUser: number;
  presenceTtlMs: number;
  rateLimitScale: number;
  webDist: string | undefined;
  graphReconcileIntervalSec: number;
}

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

export function loadConfig(env: Record<string, string | undefined> = process.env): PlatformConfig {
  // Empty strings mean "unset" (a common shape of `FOO= make dev`).
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`).join("\n");
    throw new ConfigError(`invalid configuration:\n${problems}`);
  }
  const e = parsed.data;
  let trustProxy: TrustProxy;
  try {
    trustProxy = parseTrustProxy(e.TRUST_PROXY);
  } catch (err) {
    throw new ConfigError(`invalid configuration:\n  TRUST_PROXY: ${err instanceof Error ? err.message : String(err)}`);
  }
  checkMailSettings(e);
  const publicWs = new URL(e.PUBLIC_URL);
  publicWs.protocol = publicWs.protocol === "https:" ? "wss:" : "ws:";
  publicWs.port = String(e.WS_PORT);
  publicWs.pathname = "/ws";
  return {
    env: e.NODE_ENV,
    logLevel: e.LOG_LEVEL,
    databaseUrl: e.DATABASE_URL,
    dataDir: e.DATA_DIR,
    natsUrl: e.NATS_URL,
    nats: {
      credsFile: e.NATS_CREDS_FILE,
      nkeySeedFile: e.NATS_NKEY_SEED_FILE,
      tlsCaFile: e.NATS_TLS_CA_FILE,
      tlsCertFile: e.NATS_TLS_CERT_FILE,
      tlsKeyFile: e.NATS_TLS_KEY_FILE,
    },
    natsStreamReplicas: e.NATS_STREAM_REPLICAS,
    db: {
      poolMax: e.DB_POOL_MAX,
      connectTimeoutMs: e.DB_CONNECT_TIMEOUT_MS,
      acquireTimeoutMs: e.DB_ACQUIRE_TIMEOUT_MS,
      statementTimeoutMs: e.DB_STATEMENT_TIMEOUT_MS,
      idleInTxTimeoutMs: e.DB_IDLE_IN_TX_TIMEOUT_MS,
    },
    retention: {
      inboxSec: e.INBOX_RETENTION,
      readNotificationSec: e.NOTIFICATION_READ_RETENTION,
      tokenSec: e.TOKEN_RETENTION,
      intervalSec: e.RETENTION_INTERVAL,
      memoryBus: { maxAgeMs: e.BUS_MEMORY_MAX_AGE * 1000, maxEvents: e.BUS_MEMORY_MAX_EVENTS, maxBytes: e.BUS_MEMORY_MAX_BYTES },
    },
    redisUrl: e.REDIS_URL,
    busAckWaitMs: e.BUS_ACK_WAIT * 1000,
    busNamespace: e.BUS_NAMESPACE,
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    httpPort: e.PORT,
    adminPort: e.ADMIN_PORT,
    wsPort: e.WS_PORT,
    publicUrl: e.PUBLIC_URL.replace(/\/$/, ""),
    publicWsUrl: e.PUBLIC_WS_URL ?? publicWs.toString(),
    corsOrigins: (e.CORS_ORIGINS ?? (e.NODE_ENV === "production" ? "" : "*")).split(",").map((s) => s.trim()).filter(Boolean),
    jwt: {
      issuer: e.JWT_ISSUER,
      audience: e.JWT_AUDIENCE,
      accessTtlSec: e.ACCESS_TOKEN_TTL,
      refreshTtlSec: e.REFRESH_TOKEN_TTL,
      refreshReuseGraceSec: e.REFRESH_REUSE_GRACE_SEC,
      privateJwk: e.JWT_PRIVATE_JWK,
      jwksUrl: e.JWKS_URL,
    },
    smtpUrl: e.SMTP_URL,
    mailFrom: e.MAIL_FROM,
    devMailbox: e.DEV_MAILBOX === "true",
    emailVerification: e.EMAIL_VERIFICATION === "on",
    emailVerificationTtlSec: e.EMAIL_VERIFICATION_TTL,
    verificationTokenKey: e.VERIFICATION_TOKEN_KEY
      ? new Uint8Array(Buffer.from(e.VERIFICATION_TOKEN_KEY, "base64"))
      : e.NODE_ENV === "production"
        ? undefined
        : new Uint8Array(randomBytes(32)),
    nodeId: e.NODE_ID ?? `${hostname().replace(/[^A-Za-z0-9_-]/g, "-")}-${randomBytes(3).toString("hex")}`,
    trustProxy,
    shutdownDelaySec: e.SHUTDOWN_DELAY,
    wsMaxSocketsPerUser: e.WS_MAX_SOCKETS_PER_USER,
    presenceTtlMs: e.PRESENCE_TTL * 1000,
    rateLimitScale: e.RATE_LIMIT_SCALE,
    webDist: e.WEB_DIST,
    graphReconcileIntervalSec: e.GRAPH_RECONCILE_INTERVAL,
  };
}

/**
 * A production deployment must deliver verification mail or say plainly that it does not: the dev
 * mailbox would hand every link to anyone, and silently unsent mail leaves accounts unusable.
 */
function checkMailSettings(e: z.infer<typeof envSchema>): void {
  if (e.DEV_MAILBOX === "true" && e.NODE_ENV === "production") {
    throw new ConfigError(
      "invalid configuration:\n  DEV_MAILBOX: refused when NODE_ENV=production (the dev mailbox serves every verification link to anyone); set SMTP_URL",
    );
  }
  if (e.NODE_ENV === "production" && e.EMAIL_VERIFICATION === "on" && e.SMTP_URL === undefined) {
    throw new ConfigError(
      "invalid configuration:\n  SMTP_URL: required in production to send verification mail; or set EMAIL_VERIFICATION=off to verify accounts on register (no mail)",
    );
  }
}
