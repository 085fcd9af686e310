/**
 * GCRA (generic cell rate algorithm), the limiter both stores implement: per
 * key only a "theoretical arrival time" (TAT) is kept. Each allowed call moves
 * TAT forward by one emission interval (windowMs / limit); a call is allowed
 * while TAT stays within `burst` intervals of now. So a rested key takes
 * `burst` calls at once, then one more every interval, and no window edge
 * lets twice the limit through (a fixed window allowed `limit` at the end of
 * one window and `limit` again at the start of the next).
 *
 * The Redis store runs the same arithmetic in Lua (stores/redis.ts); this is
 * the memory store's copy and the reference the store tests hold both to.
 */
import type { RateLimitResult, RateLimitRule } from "../types.js";

export interface GcraStep {
  result: RateLimitResult;
  /** The key's new TAT (epoch ms) when the call was allowed; undefined when refused (nothing changes). */
  newTatMs: number | undefined;
}

/** Emission interval in ms: one call's worth of the sustained rate. */
export function emissionIntervalMs(rule: RateLimitRule): number {
  return rule.windowMs / Math.max(1, rule.limit);
}

export function gcraStep(storedTatMs: number | undefined, nowMs: number, rule: RateLimitRule): GcraStep {
  const interval = emissionIntervalMs(rule);
  const burst = Math.max(1, rule.burst);
  const tat = storedTatMs === undefined || storedTatMs < nowMs ? nowMs : storedTatMs;
  const newTat = tat + interval;
  const allowAt = newTat - interval * burst;
  if (allowAt > nowMs) {
    // Refused: the earliest moment this call would have fit.
    return { result: { allowed: false, remaining: 0, retryAfterMs: Math.max(1, Math.ceil(allowAt - nowMs)) }, newTatMs: undefined };
  }
  return { result: { allowed: true, remaining: Math.floor((nowMs - allowAt) / interval), retryAfterMs: 0 }, newTatMs: newTat };
}
