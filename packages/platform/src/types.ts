/**
 * The platform's contracts. Every backend (Postgres/PGlite, JetStream/in-process,
 * Redis/memory) implements one of these interfaces, and services only ever see
 * the interfaces, so the same handlers and tests run in embedded and
 * distributed mode.
 */
import type { ConnectRouter } from "@connectrpc/connect";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { PlatformConfig } from "./config.js";

/** Drizzle over `pg` or PGlite. A transaction (`tx`) is also a `Database`. */
export type Database = PgDatabase<PgQueryResultHKT, Record<string, never>>;

export interface DatabaseHandle {
  readonly db: Database;
  readonly kind: "pg" | "pglite";
  /** Applies a service's drizzle-kit migrations, tracked in `<schema>.__migrations`. */
  migrate(opts: { migrationsFolder: string; schema: string }): Promise<void>;
  /** LISTEN on a channel; resolves to an unlisten function. */
  listen(channel: string, onNotify: () => void): Promise<() => Promise<void>>;
  /** For readiness probes. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** One event as a consumer receives it. `id` is the outbox id (= Nats-Msg-Id). */
export interface BusMessage {
  readonly id: string;
  readonly subject: string;
  readonly data: Uint8Array;
  /** 1 on first delivery. */
  readonly deliveryCount: number;
}

export type BusHandler = (msg: BusMessage) => Promise<void>;

export interface ConsumeOptions {
  /** Durable name shared by all replicas of a service: each event reaches one of them. */
  durable: string;
  /** Subject filters, NATS wildcards allowed (`parley.identity.>`). */
  subjects: string[];
  handler: BusHandler;
  /**
   * After this many failed deliveries (throws or ack-wait expiries) the event
   * goes to the dead-letter queue (`EventBus.deadLetters`). Default 20, which
   * with the growing nak delay spans about 12 minutes.
   */
  maxDeliver?: number;
  /** Redelivery if not acked within this. Default 30 s. */
  ackWaitMs?: number;
  /** Handlers running at once. Default 1 (in order). */
  concurrency?: number;
}

export interface Subscription {
  stop(): Promise<void>;
}

/** An event a durable consumer gave up on after `maxDeliver` failed deliveries. */
export interface DeadLetter {
  /** Position in the dead-letter queue: what replay and drop take. */
  readonly seq: number;
  /** The durable name of the consumer that failed. */
  readonly consumer: string;
  /** The event's id (outbox id), unchanged on replay so inbox dedupe still works. */
  readonly eventId: string;
  readonly subject: string;
  readonly data: Uint8Array;
  /** The last handler error (message only, truncated). */
  readonly error: string;
  readonly deliveries: number;
  readonly deadAtMs: number;
}

/**
 * Dead-lettered events, kept for an operator (`parley-events dlq …`). On
 * JetStream a stream of its own (`PARLEY_DLQ`, subjects
 * `parley.dlq.<consumer>`); in-process a bounded list.
 */
export interface DeadLetterQueue {
  /** Oldest first. */
  list(opts?: { consumer?: string; limit?: number }): Promise<DeadLetter[]>;
  /**
   * Publishes the event again on its subject for its consumer only (other
   * consumers of the subject skip it), with its original id, and removes it
   * from the queue. Throws if `seq` is not in the queue.
   */
  replay(seq: number): Promise<DeadLetter>;
  /** Removes it for good. Throws if `seq` is not in the queue. */
  drop(seq: number): Promise<void>;
  /** Events this process dead-lettered since it started, per consumer (for metrics). */
  counts(): ReadonlyMap<string, number>;
}

/**
 * At-least-once event bus. A handler that resolves acks the event; one that
 * throws naks it with a delay growing with the delivery count.
 */
export interface EventBus {
  /** Resolves once the broker has stored the event. Duplicate msgIds are dropped by the broker. */
  publish(subject: string, data: Uint8Array, msgId: string): Promise<void>;
  /** Durable, load-balanced across replicas (services, projections, the realtime router). */
  consume(opts: ConsumeOptions): Promise<Subscription>;
  /**
   * Non-shared subscription for one process (an edge node's own delivery
   * subject): every subscriber gets every matching event published after it
   * subscribed, acked explicitly, never load-balanced with other nodes.
   */
  consumeOwn(opts: Omit<ConsumeOptions, "durable"> & { name: string }): Promise<Subscription>;
  ping(): Promise<void>;
  close(): Promise<void>;
  readonly deadLetters: DeadLetterQueue;
}

/** Revoked token ids (`jti`) and sessions (refresh families, `sid`), shared by every node. */
export interface RevocationStore {
  revoke(id: string, untilMs: number): Promise<void>;
  /** True if any of the ids is revoked. */
  anyRevoked(ids: string[]): Promise<boolean>;
}

export interface RateLimitResult {
  allowed: boolean;
  remaining: number;
  /** 0 when allowed. */
  retryAfterMs: number;
}

/**
 * A rate: `limit` calls per `windowMs` sustained, and at most `burst` calls at
 * once from a rested key (GCRA: one call's worth refills every windowMs/limit).
 */
export interface RateLimitRule {
  limit: number;
  windowMs: number;
  burst: number;
}

/** Atomic GCRA limiter shared by all replicas (see stores/gcra.ts). */
export interface RateLimiter {
  /** Counts one call against `key` if the rule allows it now; a refused call costs nothing. */
  hit(key: string, rule: RateLimitRule): Promise<RateLimitResult>;
  /** Forgets `key` (e.g. failed logins of an account after a successful one). */
  reset(key: string): Promise<void>;
}

/**
 * One lease per open WebSocket, per user, across every edge node: caps the
 * sockets one user may hold. Leases expire unless refreshed (the node's
 * heartbeat), so a dead node's sockets stop counting by themselves.
 */
export interface SocketLeaseStore {
  /** Atomically takes a lease unless `userId` already holds `max` live ones; false = over the cap. */
  acquire(userId: string, leaseId: string, max: number, ttlMs: number): Promise<boolean>;
  /** Extends existing leases (released ones stay released). */
  refresh(leases: ReadonlyArray<{ userId: string; leaseId: string }>, ttlMs: number): Promise<void>;
  release(userId: string, leaseId: string): Promise<void>;
}

export interface PresenceInfo {
  online: boolean;
  /** Epoch ms; 0 if never seen. */
  lastSeenMs: number;
}

/**
 * user -> nodes holding a socket of that user, each with an expiry refreshed by
 * the node's heartbeat; reads prune expired entries, so a dead node's users age
 * out with no coordinator.
 */
export interface PresenceStore {
  /** Adds/refreshes (user, node) entries with the given TTL. */
  heartbeat(nodeId: string, userIds: string[], ttlMs: number): Promise<void>;
  /** The user's last socket on this node closed. */
  remove(nodeId: string, userId: string, lastSeenMs: number): Promise<void>;
  /** Live nodes per user (users with none are absent). */
  nodesOf(userIds: string[]): Promise<Map<string, string[]>>;
  info(userIds: string[]): Promise<Map<string, PresenceInfo>>;
}

/**
 * Keyed TTL values (typing indicators, short caches) shared by all replicas,
 * plus plain string sets for small projections that can be rebuilt from their
 * source (e.g. the realtime edge's per-user block sets): the sets have no TTL.
 */
export interface EphemeralStore {
  set(key: string, value: string, ttlMs: number): Promise<void>;
  get(key: string): Promise<string | undefined>;
  addToSet(key: string, member: string): Promise<void>;
  removeFromSet(key: string, member: string): Promise<void>;
  /** Atomically replaces the set's members (empty = delete the set). */
  replaceSet(key: string, members: readonly string[]): Promise<void>;
  /** Members of each key's set; keys whose set is empty or missing are absent from the map. */
  setMembersMany(keys: readonly string[]): Promise<Map<string, string[]>>;
}

/** Claims of a verified access token. */
export interface AccessClaims {
  userId: string;
  /** Session = refresh-token family. */
  sessionId: string;
  jti: string;
  expiresAtMs: number;
}

export interface TokenVerifier {
  /** Signature (pinned alg), iss, aud, exp, and revocation of jti and sid. Throws ConnectError(unauthenticated). */
  verify(token: string): Promise<AccessClaims>;
}

export interface TokenSigner {
  signAccess(claims: { userId: string; sessionId: string }): Promise<{ token: string; jti: string; expiresAtMs: number }>;
  /** The public keys to publish at /.well-known/jwks.json. */
  jwks(): { keys: Record<string, unknown>[] };
}

/** Everything a service needs from the platform; built once per process. */
export interface PlatformDeps {
  config: PlatformConfig;
  logger: Logger;
  metrics: Registry;
  database: DatabaseHandle;
  bus: EventBus;
  revocations: RevocationStore;
  rateLimiter: RateLimiter;
  socketLeases: SocketLeaseStore;
  presence: PresenceStore;
  ephemeral: EphemeralStore;
  tokens: TokenVerifier;
  /** Present where the private key is configured (identity, embedded mode, tests). */
  signer: TokenSigner | undefined;
}

/** What each service's `create<Name>Service(deps)` returns. */
export interface ServiceModule {
  readonly name: string;
  /** Connect services this module serves. */
  routes(router: ConnectRouter): void;
  /** Extra plain-HTTP endpoints (e.g. JWKS). Return true when handled. */
  http?(req: IncomingMessage, res: ServerResponse): boolean;
  /** Applies migrations, starts consumers and the outbox relay. */
  start(): Promise<void>;
  /** Stops consumers and relay; the server is closed by the caller. */
  stop(): Promise<void>;
  /** Readiness checks of this module beyond the shared backends. */
  ready?(): Promise<void>;
  /**
   * Problems an operator must see that must not take the pod out of rotation
   * (e.g. parked outbox events): a message, or undefined when healthy.
   * /readyz lists them under `degraded` and still answers 200.
   */
  degraded?(): Promise<string | undefined>;
}
