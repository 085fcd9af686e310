/**
 * Named rate-limit policies. The protos name a policy per method
 * (`option (parley.options.v1.policy) = { rate_limit: "search" }`); limits live
 * here so one place tunes them. Windows are fixed, counted per user (or per IP
 * for anonymous calls) and shared by every replica.
 */
import { getOption, type DescMethod } from "@bufbuild/protobuf";
import { policy as methodPolicyOption } from "@parley/gen/parley/options/v1/options_pb";

export interface RateLimitPolicy {
  /** Calls allowed per window. */
  limit: number;
  windowMs: number;
}

const MINUTE = 60_000;

export const rateLimitPolicies = {
  /** Any method without an explicit policy. */
  default: { limit: 1200, windowMs: MINUTE },
  /** Register, login, refresh, verify: slows credential stuffing. */
  auth: { limit: 20, windowMs: MINUTE },
  /** Sends mail to someone: keeps us off spam lists. */
  email: { limit: 5, windowMs: MINUTE },
  search: { limit: 60, windowMs: MINUTE },
  send: { limit: 600, windowMs: MINUTE },
  invite: { limit: 30, windowMs: MINUTE },
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
  const base = rateLimitPolicies[name];
  // Never scale a limit to 0: that would make the method unusable rather than stricter.
  return { public: opt.public, policyName: name, policy: { limit: Math.max(1, Math.round(base.limit * scale)), windowMs: base.windowMs } };
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
