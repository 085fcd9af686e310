/** (a) Edge capacity: N idle authenticated sockets on ONE node; sockets held and RSS per socket. */
import { sleep } from "../lib/clock.js";
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
  rssBeforeMiB: number;
  rssAfterMiB: number;
  bytesPerSocket: number;
  serverFds: number;
}

const MiB = 1024 * 1024;
const IDLE_MS = 3_000;

export async function runCapacity(target: BenchTarget, o: BenchOptions): Promise<CapacityResult> {
  const url = target.edgeUrls[0];
  const pid = target.edgePids[0];
  if (url === undefined || pid === undefined) throw new Error("target has no edge node");
  const users = await target.users(o.capacitySockets, { social: false });
  const clients = users.map((u) => ({ ...u, url, rooms: [] }));
  const rssBefore = rssBytes(pid);
  const pool = WorkerPool.start(clients, o.socketsPerWorker);
  try {
    const c = await pool.connect(target.name, target.apiUrl, loopbackAddresses(o.localAddresses), o.connectConcurrency, 300_000);
    // Idle for a moment: sockets that the server drops after the handshake show up here, and
    // the server's allocations settle before RSS is read.
    await sleep(IDLE_MS);
    const rssAfter = rssBytes(pid);
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
      bytesPerSocket: c.ok > 0 ? Math.round((rssAfter - rssBefore) / c.ok) : 0,
      serverFds,
    };
  } finally {
    await pool.stop();
  }
}
