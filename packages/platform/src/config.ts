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
  /** Redis for presence, rate limits, revocations; unset = in memory. */
  REDIS_URL: url.optional(),
  /** Isolates one Parley installation on a shared NATS (stream-name suffix, subject and durable prefix). */
  BUS_NAMESPACE: z.string().regex(/^[A-Za-z0-9_]*$/, "letters, digits and '_' only").default(""),
  /** Prefix of every Redis key, for the same reason. */
  REDIS_KEY_PREFIX: z.string().default(""),
  /** Connect/gRPC/gRPC-web + health + metrics (and the web UI in embedded mode). */
  PORT: port.default(8080),
  /** Realtime WebSocket edge. */
  WS_PORT: port.default(8081),
  /** Base URL people open (links in emails). */
  PUBLIC_URL: url.default("http://localhost:8080"),
  /** WebSocket URL clients connect to; default derived from PUBLIC_URL and WS_PORT. */
  PUBLIC_WS_URL: url.optional(),
  /** Comma-separated allowed CORS origins; "*" allows any. */
  CORS_ORIGINS: z.string().default("*"),
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
  /** smtp://user:pass@host:port; unset = dev mailbox (mail logged and kept in memory). */
  SMTP_URL: url.optional(),
  MAIL_FROM: z.string().default("Parley <no-reply@parley.local>"),
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
  /** Open WebSockets one user may hold across all edge nodes; one more is closed 4429 at open. */
  WS_MAX_SOCKETS_PER_USER: z.coerce.number().int().positive().default(20),
  /** Multiplies every rate-limit policy's limit and burst (load tests raise it). */
  RATE_LIMIT_SCALE: z.coerce.number().positive().default(1),
  /** Directory of the built web client to serve; unset = none. */
  WEB_DIST: z.string().optional(),
});

export interface PlatformConfig {
  env: "development" | "production" | "test";
  logLevel: string;
  databaseUrl: string | undefined;
  dataDir: string;
  natsUrl: string | undefined;
  redisUrl: string | undefined;
  busNamespace: string;
  redisKeyPrefix: string;
  httpPort: number;
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
  nodeId: string;
  /** Parsed TRUST_PROXY: trusted hop count, or trusted proxy addresses/CIDRs. */
  trustProxy: TrustProxy;
  shutdownDelaySec: number;
  wsMaxSocketsPerUser: number;
  rateLimitScale: number;
  webDist: string | undefined;
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
    redisUrl: e.REDIS_URL,
    busNamespace: e.BUS_NAMESPACE,
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    httpPort: e.PORT,
    wsPort: e.WS_PORT,
    publicUrl: e.PUBLIC_URL.replace(/\/$/, ""),
    publicWsUrl: e.PUBLIC_WS_URL ?? publicWs.toString(),
    corsOrigins: e.CORS_ORIGINS.split(",").map((s) => s.trim()).filter(Boolean),
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
    nodeId: e.NODE_ID ?? `${hostname().replace(/[^A-Za-z0-9_-]/g, "-")}-${randomBytes(3).toString("hex")}`,
    trustProxy,
    shutdownDelaySec: e.SHUTDOWN_DELAY,
    wsMaxSocketsPerUser: e.WS_MAX_SOCKETS_PER_USER,
    rateLimitScale: e.RATE_LIMIT_SCALE,
    webDist: e.WEB_DIST,
  };
}
