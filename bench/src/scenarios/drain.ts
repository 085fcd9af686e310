/** Collects deliveries from a pool until `expected` arrived or `timeoutMs` passed. */
import { sleep } from "../lib/clock.js";
import type { Received, WorkerPool } from "../lib/workers.js";

export async function drain(pool: WorkerPool, expected: number, timeoutMs: number): Promise<Received> {
  const total: Received = { perMessage: new Map(), latencies: [], duplicates: 0, dropped: 0 };
  const deadline = Date.now() + timeoutMs;
  let delivered = 0;
  for (;;) {
    const part = await pool.collect();
    for (const [k, v] of part.perMessage) {
      const e = total.perMessage.get(k);
      if (e) {
        e.deliveries += v.deliveries;
        e.last = Math.max(e.last, v.last);
      } else total.perMessage.set(k, { ...v });
      delivered += v.deliveries;
    }
    total.latencies.push(...part.latencies);
    total.duplicates += part.duplicates;
    total.dropped += part.dropped;
    if (delivered >= expected || Date.now() > deadline) return total;
    await sleep(250);
  }
}
