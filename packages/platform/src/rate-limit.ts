/**
 * Applying a rate-limit policy to a key: the interceptor does it per method,
 * handlers and the edge for their own keys (target account, recipient address,
 * socket owner). One place decides what "limited" looks like to a client.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import type { RateLimiter, RateLimitResult, RateLimitRule } from "./types.js";

/** Whole seconds to wait, never 0 (clients treat 0 as "now" and hammer). */
export function retryAfterSeconds(retryAfterMs: number): number {
  return Math.max(1, Math.ceil(retryAfterMs / 1000));
}

/** Counts one call; too many → resource_exhausted with `retry-after`; backend down → unavailable (fail closed). */
export async function enforceRateLimit(limiter: RateLimiter, key: string, rule: RateLimitRule): Promise<void> {
  let result: RateLimitResult;
  try {
    result = await limiter.hit(key, rule);
  } catch (err) {
    // Fail closed: limits are a guarantee, and the backend being down is the client's cue to retry.
    throw new ConnectError("rate limiter unavailable, retry shortly", Code.Unavailable, undefined, undefined, err);
  }
  if (!result.allowed) {
    const seconds = retryAfterSeconds(result.retryAfterMs);
    throw new ConnectError(`too many requests, retry in ${seconds} s`, Code.ResourceExhausted, { "retry-after": String(seconds) });
  }
}
