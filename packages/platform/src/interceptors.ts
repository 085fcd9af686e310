/**
 * The shared server interceptors, outermost first:
 *  1. errors: request id, logging, duration metric, and no internals in responses;
 *  2. auth: bearer token required unless the contract marks the method public;
 *  3. rate limit: the method's policy, per client IP (public methods) or per user;
 *  4. request text: no string field may hold U+0000 (request-text.ts).
 */
import { randomUUID } from "node:crypto";
import type { DescMethod } from "@bufbuild/protobuf";
import { Code, ConnectError, type Interceptor, type StreamResponse, type UnaryResponse } from "@connectrpc/connect";
import { Histogram } from "prom-client";
import { authClaimsKey, clientIpKey } from "./auth-context.js";
import { isBackendUnavailable } from "./backend-errors.js";
import { methodRules, type MethodRules } from "./rate-limit-policies.js";
import { enforceRateLimit } from "./rate-limit.js";
import { assertNoNulCharacters } from "./request-text.js";
import type { PlatformDeps } from "./types.js";

const REQUEST_ID_HEADER = "x-request-id";

/** The caller's request id if it is a sane token (it goes into logs and headers), else a new one. */
function requestIdOf(header: string | null): string {
  return header && /^[A-Za-z0-9._:-]{1,128}$/.test(header) ? header : randomUUID();
}

/** Lower-case code name as used on the wire ("resource_exhausted"). */
function codeName(code: Code): string {
  return Code[code].replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}

function rpcDurationHistogram(deps: PlatformDeps): Histogram<"procedure" | "code"> {
  const name = "rpc_duration_seconds";
  // The same registry may get interceptors twice (HTTP server + in-process router transport).
  const existing = deps.metrics.getSingleMetric(name);
  if (existing instanceof Histogram) return existing as Histogram<"procedure" | "code">;
  return new Histogram({
    name,
    help: "Duration of RPCs handled by this process, by procedure and status code",
    labelNames: ["procedure", "code"],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [deps.metrics],
  });
}

/**
 * Turns anything thrown into what the client may see: ConnectErrors pass
 * (handlers write their messages for clients), cancellations keep their code,
 * everything else becomes a bare "internal error".
 */
function toClientError(err: unknown): { error: ConnectError; internal: boolean } {
  if (err instanceof ConnectError) return { error: err, internal: err.code === Code.Internal || err.code === Code.Unknown };
  // A database (or other backend) timeout or outage: the client should retry, it is not our bug.
  if (isBackendUnavailable(err)) return { error: new ConnectError("service temporarily unavailable, retry shortly", Code.Unavailable, undefined, undefined, err), internal: false };
  const converted = ConnectError.from(err);
  if (converted.code === Code.Canceled || converted.code === Code.DeadlineExceeded) return { error: converted, internal: false };
  return { error: new ConnectError("internal error", Code.Internal), internal: true };
}

export function createInterceptors(deps: PlatformDeps): Interceptor[] {
  const baseLog = deps.logger.child({ component: "rpc" });
  const duration = rpcDurationHistogram(deps);

  // Options are static per method: read them once, not per call.
  const rulesCache = new Map<DescMethod, MethodRules>();
  const rulesOf = (method: DescMethod): MethodRules => {
    let rules = rulesCache.get(method);
    if (!rules) rulesCache.set(method, (rules = methodRules(method, deps.config.rateLimitScale)));
    return rules;
  };

  const errors: Interceptor = (next) => async (req) => {
    const started = performance.now();
    const procedure = `${req.service.typeName}/${req.method.name}`;
    const reqId = requestIdOf(req.header.get(REQUEST_ID_HEADER));
    const log = baseLog.child({ req_id: reqId, procedure });
    const elapsed = () => (performance.now() - started) / 1000;
    const ok = (): void => {
      const seconds = elapsed();
      duration.observe({ procedure, code: "ok" }, seconds);
      log.debug({ code: "ok", ms: Math.round(seconds * 1000) }, "rpc");
    };
    const fail = (err: unknown): ConnectError => {
      const seconds = elapsed();
      const { error, internal } = toClientError(err);
      const code = codeName(error.code);
      duration.observe({ procedure, code }, seconds);
      const fields = { code, ms: Math.round(seconds * 1000), reason: error.rawMessage };
      const cause = err instanceof ConnectError ? err.cause : err;
      // One error object per line: the original failure if there is one (serialized without query values, logger.ts).
      if (internal) log.error({ ...fields, err: cause ?? err }, "rpc failed");
      else if (error.code === Code.Unavailable) log.warn({ ...fields, cause }, "rpc unavailable");
      else log.info(fields, "rpc rejected");
      error.metadata.set(REQUEST_ID_HEADER, reqId);
      return error;
    };

    let res: UnaryResponse | StreamResponse;
    try {
      res = await next(req);
    } catch (err) {
      throw fail(err);
    }
    res.header.set(REQUEST_ID_HEADER, reqId);
    if (!res.stream) {
      ok();
      return res;
    }
    // Server streams fail while iterating, after the handler returned: wrap the iterator.
    const source = res.message;
    async function* guarded() {
      try {
        yield* source;
      } catch (err) {
        throw fail(err);
      }
      ok();
    }
    return { ...res, message: guarded() };
  };

  const auth: Interceptor = (next) => async (req) => {
    const rules = rulesOf(req.method);
    const header = req.header.get("authorization");
    const match = header ? /^Bearer +([^ ]+)$/i.exec(header.trim()) : null;
    if (rules.public) {
      // Public calls may carry a token (e.g. refresh with an expired one): use it if valid, never reject.
      if (match?.[1]) {
        const claims = await deps.tokens.verify(match[1]).catch(() => undefined);
        if (claims) req.contextValues.set(authClaimsKey, claims);
      }
      return next(req);
    }
    if (!header) throw new ConnectError("missing access token: send 'Authorization: Bearer <token>'", Code.Unauthenticated);
    if (!match?.[1]) throw new ConnectError("malformed authorization header: expected 'Bearer <token>'", Code.Unauthenticated);
    req.contextValues.set(authClaimsKey, await deps.tokens.verify(match[1]));
    return next(req);
  };

  const rateLimit: Interceptor = (next) => async (req) => {
    const rules = rulesOf(req.method);
    const claims = req.contextValues.get(authClaimsKey);
    const ip = req.contextValues.get(clientIpKey);
    // Public methods always count per client IP: a token (any account's) must not
    // move the call to a bucket of its own. Authenticated ones count per user,
    // in-process calls too (embedded edge calls on a user's behalf, no client IP).
    const key = rules.public ? (ip === "" ? undefined : `rl:${rules.policyName}:ip:${ip}`) : claims ? `rl:${rules.policyName}:u:${claims.userId}` : undefined;
    if (key !== undefined) await enforceRateLimit(deps.rateLimiter, key, rules.policy);
    return next(req);
  };

  const requestText: Interceptor = (next) => async (req) => {
    // Every method of ours takes a unary request (server streams included); a client stream would be checked per message by its handler.
    if (!req.stream) assertNoNulCharacters(req.method.input, req.message);
    return next(req);
  };

  // Connect wraps the last interceptor innermost, so this array reads outermost first.
  return [errors, auth, rateLimit, requestText];
}
