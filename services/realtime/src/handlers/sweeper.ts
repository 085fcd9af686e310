/**
 * One node-wide timer instead of timers per socket (memory per idle socket
 * stays small): re-sends unacked frames, closes sockets that never said Hello,
 * and re-checks tokens on each socket every tokenCheckMs (the sockets due in
 * one sweep in one batched revocation lookup, see auth.ts).
 */
import { recheckTokens } from "./auth.js";
import { CLOSE_BAD_CLIENT, type Connection } from "./connection.js";
import type { EdgeContext } from "./context.js";

export function startSweeper(ctx: EdgeContext): () => void {
  const everyMs = Math.max(20, Math.min(1_000, Math.floor(ctx.tuning.resendAfterMs / 2)));
  const timer = setInterval(() => sweep(ctx), everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

function sweep(ctx: EdgeContext): void {
  const now = Date.now();
  for (const conn of [...ctx.pendingSockets]) conn.resendDue(now);
  // Closed after the walk: a close removes the socket from the registry being walked.
  const silent: Connection[] = [];
  const due: Connection[] = [];
  for (const conn of ctx.registry.connections()) {
    if (conn.closed) continue;
    if (!conn.helloReceived && now - conn.openedAtMs > ctx.tuning.helloTimeoutMs) {
      silent.push(conn);
      continue;
    }
    if (now >= conn.nextTokenCheckMs) {
      conn.nextTokenCheckMs = now + ctx.tuning.tokenCheckMs;
      due.push(conn);
    }
  }
  for (const conn of silent) conn.close(CLOSE_BAD_CLIENT, "no Hello received; send Hello after Welcome");
  if (due.length > 0) void recheckTokens(ctx, due, now).catch((err: unknown) => ctx.logger.error({ err }, "token re-check failed"));
}
