/**
 * Rate limits on client frames and the cap on sockets per user.
 *
 * Two layers, by what a frame costs:
 * - every limited frame kind passes a token bucket of its own socket (memory,
 *   no timers, no I/O), so a flood is refused before it costs anything;
 * - frames that cost a backend call (PresenceSubscribe: chat's
 *   GetConversation; Reauthenticate: a token check) also count against the
 *   user's shared limiter (per user, every socket on every node: opening more
 *   sockets buys nothing). Hello (a whole catch-up) is once per socket, so it
 *   is limited where sockets are: opening one counts against the user's
 *   "edge-connect" policy at the upgrade.
 * A refused frame is answered with Error{resource_exhausted}; a socket that
 * keeps sending refused frames (it ran out of "strikes") is closed 4429.
 *
 * The socket cap is a lease per socket in the shared SocketLeaseStore, taken
 * at the upgrade (before the socket costs presence, friends lookups or a
 * catch-up) and refreshed with the presence heartbeat, so a dead node's
 * leases expire like its presence entries.
 */
import { randomUUID } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { enforceRateLimit, retryAfterSeconds, scaledPolicy, type RateLimitPolicyName } from "@parley/platform";
import type { Connection } from "./connection.js";
import type { EdgeContext } from "./context.js";

/** Close code for a socket over its frame budget or over the user's socket cap (like HTTP 429). */
export const CLOSE_TOO_MANY = 4429;

export type LimitedFrameKind = "ping" | "typing" | "presenceSubscribe" | "reauthenticate";

export interface BucketRate {
  perSecond: number;
  burst: number;
}

/** A token bucket: `burst` tokens, refilled continuously at `perSecond`. */
class TokenBucket {
  private tokens: number;
  private atMs: number;

  constructor(
    private readonly rate: BucketRate,
    nowMs: number,
  ) {
    this.tokens = rate.burst;
    this.atMs = nowMs;
  }

  /** Takes a token if there is one; else returns ms until there will be. */
  take(nowMs: number): number {
    this.tokens = Math.min(this.rate.burst, this.tokens + ((nowMs - this.atMs) / 1000) * this.rate.perSecond);
    this.atMs = nowMs;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.tokens) / this.rate.perSecond) * 1000);
  }
}

interface SocketBudget {
  buckets: Map<LimitedFrameKind, TokenBucket>;
  strikes: TokenBucket;
}

/** Per-socket state, lazily created (most sockets never send a limited frame) and dropped with the socket. */
const budgets = new WeakMap<Connection, SocketBudget>();

/** The user-wide policy of frames that cost a backend call. */
const costlyPolicy: Partial<Record<LimitedFrameKind, RateLimitPolicyName>> = {
  presenceSubscribe: "edge-presence",
  reauthenticate: "edge-reauth",
};

const FRAME_NAMES: Record<LimitedFrameKind, string> = {
  ping: "ping",
  typing: "typing",
  presenceSubscribe: "presence_subscribe",
  reauthenticate: "reauthenticate",
};

/**
 * The socket's own budget for `kind`. True = go on. False = refused: the
 * client got Error{resource_exhausted} (or the socket was closed 4429).
 */
export function allowFrame(ctx: EdgeContext, conn: Connection, kind: LimitedFrameKind): boolean {
  const now = Date.now();
  let budget = budgets.get(conn);
  if (!budget) {
    budget = { buckets: new Map(), strikes: new TokenBucket(ctx.tuning.frameStrikes, now) };
    budgets.set(conn, budget);
  }
  let bucket = budget.buckets.get(kind);
  if (!bucket) budget.buckets.set(kind, (bucket = new TokenBucket(ctx.tuning.frameRates[kind], now)));
  const waitMs = bucket.take(now);
  if (waitMs === 0) return true;
  refuse(ctx, conn, kind, waitMs);
  return false;
}

/**
 * The user's shared budget for a frame that costs a backend call, after the
 * socket's own. Resolves true = go on; false = refused and answered.
 */
export async function allowCostlyFrame(ctx: EdgeContext, conn: Connection, kind: LimitedFrameKind): Promise<boolean> {
  if (!allowFrame(ctx, conn, kind)) return false;
  const policy = costlyPolicy[kind];
  if (!policy) return true;
  try {
    await enforceRateLimit(ctx.deps.rateLimiter, `rl:${policy}:u:${conn.userId}`, scaledPolicy(policy, ctx.deps.config.rateLimitScale));
    return true;
  } catch (err) {
    if (conn.closed) return false;
    const e = ConnectError.from(err);
    if (e.code === Code.ResourceExhausted) {
      refuse(ctx, conn, kind, Number(e.metadata.get("retry-after") ?? "1") * 1000);
      return false;
    }
    // Limiter unreachable: fail closed like the RPC path; the client may retry.
    ctx.logger.warn({ err, userId: conn.userId, kind }, "frame rate limiter unavailable");
    conn.sendError("unavailable", `${FRAME_NAMES[kind]}: rate limiter unavailable, retry shortly`);
    return false;
  }
}

function refuse(ctx: EdgeContext, conn: Connection, kind: LimitedFrameKind, waitMs: number): void {
  ctx.metrics.rateLimitedFrames.inc({ kind: FRAME_NAMES[kind] });
  if (conn.closed) return;
  const budget = budgets.get(conn);
  if (budget && budget.strikes.take(Date.now()) > 0) {
    conn.sendError("resource_exhausted", `${FRAME_NAMES[kind]}: too many frames; closing`);
    conn.close(CLOSE_TOO_MANY, "too many frames");
    return;
  }
  conn.sendError("resource_exhausted", `${FRAME_NAMES[kind]}: too many frames, retry in ${retryAfterSeconds(waitMs)} s`);
}

export type SocketAdmission = { ok: true; leaseId: string } | { ok: false; closeCode: number; errorCode: string; reason: string };

/**
 * At the upgrade, after the token check: counts the socket open against the
 * user's "edge-connect" policy (each socket brings a Hello, i.e. a catch-up)
 * and takes its lease under the per-user socket cap.
 */
export async function admitSocket(ctx: EdgeContext, userId: string): Promise<SocketAdmission> {
  try {
    await enforceRateLimit(ctx.deps.rateLimiter, `rl:edge-connect:u:${userId}`, scaledPolicy("edge-connect", ctx.deps.config.rateLimitScale));
  } catch (err) {
    const e = ConnectError.from(err);
    if (e.code === Code.ResourceExhausted) {
      ctx.metrics.rateLimitedFrames.inc({ kind: "connect" });
      return { ok: false, closeCode: CLOSE_TOO_MANY, errorCode: "resource_exhausted", reason: `too many connections; ${e.rawMessage}` };
    }
    ctx.logger.warn({ err, userId }, "connection rate limiter unavailable at upgrade");
    return { ok: false, closeCode: 1013, errorCode: "unavailable", reason: "cannot admit sockets right now; retry" };
  }
  const leaseId = `${ctx.nodeId}:${randomUUID()}`;
  const max = ctx.tuning.maxSocketsPerUser;
  try {
    if (await ctx.deps.socketLeases.acquire(userId, leaseId, max, ctx.tuning.presenceTtlMs)) return { ok: true, leaseId };
  } catch (err) {
    ctx.logger.warn({ err, userId }, "socket lease store unavailable at upgrade");
    // 1013 "try again later", as for an unverifiable token.
    return { ok: false, closeCode: 1013, errorCode: "unavailable", reason: "cannot count your sockets right now; retry" };
  }
  ctx.metrics.rateLimitedFrames.inc({ kind: "socket_cap" });
  return { ok: false, closeCode: CLOSE_TOO_MANY, errorCode: "resource_exhausted", reason: `too many sockets: at most ${max} per user; close another one` };
}

/** Lease of each open socket, to refresh and release. */
const leaseOf = new WeakMap<Connection, string>();

export function attachSocketLease(conn: Connection, leaseId: string): void {
  leaseOf.set(conn, leaseId);
}

export function releaseSocketLease(ctx: EdgeContext, conn: Connection): void {
  const leaseId = leaseOf.get(conn);
  if (!leaseId) return;
  leaseOf.delete(conn);
  releaseLease(ctx, conn.userId, leaseId);
}

/** A lease whose socket never opened (upgrade aborted, opened while draining). */
export function releaseLease(ctx: EdgeContext, userId: string, leaseId: string): void {
  // The lease expires with its TTL anyway; releasing early frees the slot at once.
  ctx.deps.socketLeases.release(userId, leaseId).catch((err: unknown) => ctx.logger.warn({ err, userId }, "socket lease release failed"));
}

/** With the presence heartbeat: this node's open sockets keep their leases. */
export async function refreshSocketLeases(ctx: EdgeContext): Promise<void> {
  const leases: Array<{ userId: string; leaseId: string }> = [];
  for (const conn of ctx.registry.connections()) {
    const leaseId = leaseOf.get(conn);
    if (leaseId && !conn.closed) leases.push({ userId: conn.userId, leaseId });
  }
  if (leases.length > 0) await ctx.deps.socketLeases.refresh(leases, ctx.tuning.presenceTtlMs);
}
