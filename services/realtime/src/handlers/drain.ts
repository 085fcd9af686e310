/**
 * SIGTERM drain: every socket is told to reconnect elsewhere (Reconnect with a
 * retry window the client randomises within) and closed in batches, so a
 * drained node's clients do not all hit the remaining nodes in the same
 * instant. Each batch gets a short wait for its unacked frames before closing;
 * whatever is still unacked is caught up by the client's resume anyway.
 */
import { create } from "@bufbuild/protobuf";
import { ReconnectSchema } from "@parley/gen/parley/realtime/v1/frames_pb";
import { OutFrame, serverFrame } from "./codec.js";
import type { Connection } from "./connection.js";
import type { EdgeContext } from "./context.js";
import { CLOSE_SERVER_DRAINING } from "./lifecycle.js";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function drainSockets(ctx: EdgeContext): Promise<void> {
  ctx.draining = true;
  const { drainBatchSize, drainBatchIntervalMs, drainRetryAfterMs, drainAckWaitMs } = ctx.tuning;
  const reconnect = new OutFrame(serverFrame("reconnect", create(ReconnectSchema, { reason: "server draining", retryAfterMs: drainRetryAfterMs })));
  const sockets = [...ctx.registry.connections()];
  const closing: Promise<void>[] = [];
  for (let i = 0; i < sockets.length; i += drainBatchSize) {
    const batch = sockets.slice(i, i + drainBatchSize);
    for (const conn of batch) conn.sendControl(reconnect);
    closing.push(closeAfterAcks(batch, drainAckWaitMs));
    if (i + drainBatchSize < sockets.length) await sleep(drainBatchIntervalMs);
  }
  await Promise.all(closing);
}

async function closeAfterAcks(batch: Connection[], waitMs: number): Promise<void> {
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline && batch.some((c) => !c.closed && c.pendingCount > 0)) await sleep(20);
  for (const conn of batch) conn.close(CLOSE_SERVER_DRAINING, "server draining");
}
