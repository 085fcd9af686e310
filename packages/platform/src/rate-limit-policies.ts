/**
 * Named rate-limit policies. The protos name a policy per method
 * (`option (parley.options.v1.policy) = { rate_limit: "search" }`); limits live
 * here so one place tunes them. A policy is a sustained rate (`limit` per
 * `windowMs`) plus a `burst` a rested client may spend at once (GCRA, see
 * stores/gcra.ts): over any span of one window at most limit + burst calls get
 * through, never 2 × limit. Authenticated calls count per user, public calls
 * per client IP, all shared by every replica. The policies below the line are
 * not named by protos: handlers and the edge apply them to their own keys.
 */
import { getOption, type DescMethod } from "@bufbuild/protobuf";
import { policy as methodPolicyOption } from "@parley/gen/parley/options/v1/options_pb";
import type { RateLimitRule } from "./types.js";

/** `limit` calls per `windowMs` sustained, `burst` at once. */
export type RateLimitPolicy = RateLimitRule;

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

export const rateLimitPolicies = {
  /**
   * Any method without an explicit policy. A page load fetches a few dozen things at once; a
   * reconnect's catch-up costs the edge (counted against the user) one history read per
   * conversation that missed messages, so the burst covers a few hundred of those at once.
   */
  default: { limit: 1200, windowMs: MINUTE, burst: 300 },
  /** Register, login, refresh, verify: slows credential stuffing (per IP). */
  auth: { limit: 20, windowMs: MINUTE, burst: 10 },
  /** Sends mail to someone: keeps us off spam lists (per IP). */
  email: { limit: 5, windowMs: MINUTE, burst: 3 },
  search: { limit: 60, windowMs: MINUTE, burst: 10 },
  send: { limit: 600, windowMs: MINUTE, burst: 30 },
  invite: { limit: 30, windowMs: MINUTE, burst: 10 },
  // ---- applied by handlers and the edge, not named by protos ----
  /**
   * Failed logins per target account, from any IP: a botnet guessing one
   * account's password gets 10 tries, then one every 6 minutes. A successful
   * login resets it (so the owner is not locked out by their own typos).
   */
  "login-account": { limit: 10, windowMs: HOUR, burst: 10 },
  /** Verification mails per recipient address (Register, ResendVerification), whoever asks. */
  "mail-recipient": { limit: 6, windowMs: HOUR, burst: 3 },
  /** Edge: PresenceSubscribe per user (each one costs chat a GetConversation). */
  "edge-presence": { limit: 120, windowMs: MINUTE, burst: 20 },
  /** Edge: Reauthenticate per user (a token check each; clients need one per access TTL). */
  "edge-reauth": { limit: 10, windowMs: MINUTE, burst: 5 },
  /** Edge: socket opens per user (each brings a Hello, i.e. a catch-up); a page reload storm fits the burst. */
  "edge-connect": { limit: 60, windowMs: MINUTE, burst: 20 },
} as const satisfies Record<string, RateLimitPolicy>;

export type RateLimitPolicyName = keyof typeof rateLimitPolicies;

function isPolicyName(name: string): name is RateLimitPolicyName {
  return Object.hasOwn(rateLimitPolicies, name);
}

/** What the contract says about a method: public or not, and which policy applies. */
export interface MethodRules {
  public: boolean;
  policyName: RateLimitPolicyName;
  policy: RateLimitPolicy;
}

/** Reads the method's `parley.options.v1.policy` option; throws on an unknown policy name. */
export function methodRules(method: DescMethod, scale: number): MethodRules {
  const opt = getOption(method, methodPolicyOption);
  const name = opt.rateLimit === "" ? "default" : opt.rateLimit;
  if (!isPolicyName(name)) {
    throw new Error(
      `${method.parent.typeName}.${method.name} names rate-limit policy "${name}", ` +
        `which is not one of: ${Object.keys(rateLimitPolicies).join(", ")} (packages/platform/src/rate-limit-policies.ts)`,
    );
  }
  return { public: opt.public, policyName: name, policy: scaledPolicy(name, scale) };
}

/** A policy with limit and burst multiplied by RATE_LIMIT_SCALE. */
export function scaledPolicy(name: RateLimitPolicyName, scale: number): RateLimitPolicy {
  const base = rateLimitPolicies[name];
  // Never scale to 0: that would make the method unusable rather than stricter.
  return {
    limit: Math.max(1, Math.round(base.limit * scale)),
    windowMs: base.windowMs,
    burst: Math.max(1, Math.round(base.burst * scale)),
  };
}

/** Fails fast at start-up if any served method names a policy that does not exist. */
export function assertPoliciesExist(methods: Iterable<DescMethod>): void {
  const problems: string[] = [];
  for (const m of methods) {
    try {
      methodRules(m, 1);
    } catch (err) {
      problems.push(err instanceof Error ? err.message : String(err));
    }
  }
  if (problems.length > 0) throw new Error(`unknown rate-limit policies:\n  ${problems.join("\n  ")}`);
}
