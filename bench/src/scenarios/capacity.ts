/**
 * (a) Edge capacity and idle memory: N idle authenticated sockets on ONE node. The edge process
 * runs with --expose-gc; its RSS is read after full collections (repeated until it holds still)
 * before the sockets connect and again after they have idled, so (after − before) / N is what an idle socket costs, not
 * garbage that happened to be live.
 */
import { sleep } from "../lib/clock.js";
import { startCpuMeter, type CpuUsage } from "../lib/cpu.js";
import type { BenchOptions } from "../lib/options.js";
import { fdCount, rssBytes } from "../lib/proc.js";
import type { BenchTarget } from "../lib/target.js";
import { loopbackAddresses, WorkerPool } from "../lib/workers.js";

export interface CapacityResult {
  requested: number;
  held: number;
  failed: number;
  firstError: string | undefined;
  droppedWhileIdle: number;
  connectSeconds: number;
  /** After GC. */
  rssBeforeMiB: number;
  rssAfterMiB: number;
  /** RSS without GC, at the same moments (what an operator's dashboard shows). */
  rssAfterNoGcMiB: number;
  bytesPerSocket: number;
  serverFds: number;
  /** Connect + idle window. */
  cpu: CpuUsage;
}

const MiB = 1024 * 1024;
/** Sockets opened and closed before the first reading, so code paths run once (JIT, lazy modules, pools) are not billed to the N sockets. */
const WARMUP_SOCKETS = 50;
/**
 * A Node process keeps handing memory back for several seconds after it went busy → idle, even
 * after forced GCs (measured: RSS flat for ~6 s of gc() calls, then 10-20 MiB lower, then flat):
 * a reading is taken only once RSS has held still for SETTLE_STABLE_MS.
 */
const SETTLE_STEP_MS = 1_000;
const SETTLE_STABLE_MS = 10_000;
const SETTLE_MAX_MS = 30_000;
/** "Still": within 256 KiB or 0.5% of RSS, whichever is more (a busy server never stops allocating entirely). */
const settledBytes = (rss: number) => Math.max(256 * 1024, rss * 0.005);

/** RSS after GC, once readings have stayed within settledBytes for SETTLE_STABLE_MS (bounded: else the last reading). */
async function settledRss(target: BenchTarget, pid: number): Promise<number> {
  const deadline = Date.now() + SETTLE_MAX_MS;
  let anchor = await target.gcRss(pid);
  let anchorAt = Date.now();
  let last = anchor;
  while (Date.now() < deadline) {
    await sleep(SETTLE_STEP_MS);
    last = await target.gcRss(pid);
    if (Math.abs(last - anchor) >= settledBytes(anchor)) {
      anchor = last;
      anchorAt = Date.now();
    } else if (Date.now() - anchorAt >= SETTLE_STABLE_MS) return last;
  }
  return last;
}

export async function runCapacity(target: BenchTarget, o: BenchOptions): Promise<CapacityResult> {
  const url = target.edgeUrls[0];
  const pid = target.edgePids[0];
  if (url === undefined || pid === undefined) throw new Error("target has no edge node");
  const users = await target.users(o.capacitySockets, { social: false });
  const clients = users.map((u) => ({ ...u, url, rooms: [] }));
  const warm = WorkerPool.start((await target.users(WARMUP_SOCKETS, { social: false })).map((u) => ({ ...u, url, rooms: [] })), o.socketsPerWorker);
  try {
    await warm.connect(target.driver, o.client, target.apiUrl, loopbackAddresses(o.localAddresses), o.connectConcurrency, 120_000);
  } finally {
    await warm.stop();
  }
  const idleMs = o.capacityIdleSeconds * 1000;
  await sleep(idleMs);
  const rssBefore = await settledRss(target, pid);
  const pool = WorkerPool.start(clients, o.socketsPerWorker);
  try {
    const meter = startCpuMeter({ generators: pool.generators(), servers: target.servers, backends: target.backends });
    const c = await pool.connect(target.driver, o.client, target.apiUrl, loopbackAddresses(o.localAddresses), o.connectConcurrency, 300_000);
    // Idle for a moment: sockets that the server drops after the handshake show up here, and
    // the server's allocations settle before RSS is read.
    await sleep(idleMs);
    const cpu = meter.stop();
    const rssAfterNoGc = rssBytes(pid);
    const rssAfter = await settledRss(target, pid);
    const serverFds = fdCount(pid);
    const received = await pool.collect();
    return {
      requested: o.capacitySockets,
      held: c.ok - received.dropped,
      failed: c.failed,
      firstError: c.firstError,
      droppedWhileIdle: received.dropped,
      connectSeconds: c.ms / 1000,
      rssBeforeMiB: rssBefore / MiB,
      rssAfterMiB: rssAfter / MiB,
      rssAfterNoGcMiB: rssAfterNoGc / MiB,
      bytesPerSocket: c.ok > 0 ? Math.round((rssAfter - rssBefore) / c.ok) : 0,
      serverFds,
      cpu,
    };
  } finally {
    await pool.stop();
  }
}
