/** Liveness, readiness and Prometheus endpoints (served on the admin port only, see admin.ts). */
import type { Registry } from "prom-client";
import { sendJson, sendText, type AnyResponse } from "./types.js";

export type ReadinessCheck = () => Promise<void>;

/** A hung backend must fail the probe, not hang it past the kubelet's timeout. */
const CHECK_TIMEOUT_MS = 2_000;

function withTimeout(check: ReadinessCheck): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
  });
  return Promise.race([check(), timeout]).finally(() => clearTimeout(timer));
}

/** Resolves to a message while something needs an operator without making the pod unready. */
export type DegradedCheck = () => Promise<string | undefined>;

/** Problems reported next to a ready answer; a check that fails or hangs is reported as such. */
async function collectDegraded(checks: Record<string, DegradedCheck>, redact: (text: string) => string): Promise<Record<string, string>> {
  const names = Object.keys(checks);
  const results = await Promise.allSettled(
    names.map(async (n) => {
      let found: string | undefined;
      await withTimeout(async () => void (found = await checks[n]?.()));
      return found;
    }),
  );
  const degraded: Record<string, string> = {};
  results.forEach((r, i) => {
    const name = names[i] ?? "?";
    if (r.status === "rejected") degraded[name] = `check failed: ${redact(r.reason instanceof Error ? r.reason.message : String(r.reason))}`;
    else if (r.value !== undefined) degraded[name] = r.value;
  });
  return degraded;
}

/** `redact` masks secrets (connection-string passwords) drivers put into their error messages. */
export async function respondReady(
  res: AnyResponse,
  checks: Record<string, ReadinessCheck>,
  draining: boolean,
  redact: (text: string) => string,
  notices: Record<string, string> = {},
  degradedChecks: Record<string, DegradedCheck> = {},
): Promise<void> {
  const shown = Object.keys(notices).length > 0 ? { notices } : {};
  if (draining) return sendJson(res, 503, { ready: false, failed: { server: "shutting down" }, ...shown });
  const names = Object.keys(checks);
  const results = await Promise.allSettled(names.map((n) => withTimeout(checks[n] ?? (async () => {}))));
  const failed: Record<string, string> = {};
  results.forEach((r, i) => {
    if (r.status === "rejected") failed[names[i] ?? "?"] = redact(r.reason instanceof Error ? r.reason.message : String(r.reason));
  });
  if (Object.keys(failed).length > 0) return sendJson(res, 503, { ready: false, failed, ...shown });
  const degraded = await collectDegraded(degradedChecks, redact);
  sendJson(res, 200, Object.keys(degraded).length > 0 ? { ready: true, degraded, ...shown } : { ready: true, ...shown });
}

export async function respondMetrics(res: AnyResponse, registry: Registry): Promise<void> {
  sendText(res, 200, await registry.metrics(), registry.contentType);
}
