/** (b) Fan-out: one group of M members (the clients), R msg/s for S s; send-to-last-delivery. */
import { nowMs, sleep } from "../lib/clock.js";
import type { BenchOptions } from "../lib/options.js";
import type { Payload } from "../lib/protocol.js";
import { summarize, type LatencySummary } from "../lib/stats.js";
import type { BenchTarget } from "../lib/target.js";
import { loopbackAddresses, WorkerPool } from "../lib/workers.js";
import { drain } from "./drain.js";

export interface FanoutResult {
  members: number;
  connected: number;
  edgeNodes: number;
  offeredRate: number;
  sent: number;
  sendErrors: number;
  firstError: string | undefined;
  /** Messages every connected member received. */
  complete: number;
  expectedDeliveries: number;
  deliveries: number;
  duplicates: number;
  sendToLastDelivery: LatencySummary;
  perDelivery: LatencySummary;
}

export async function runFanout(target: BenchTarget, o: BenchOptions): Promise<FanoutResult> {
  const members = await target.users(o.fanoutMembers, { social: false });
  const group = await target.group(members);
  const clients = members.map((u, i) => ({ ...u, url: target.edgeUrls[i % target.edgeUrls.length] ?? "", rooms: [group.room] }));
  const pool = WorkerPool.start(clients, o.socketsPerWorker, 2);
  try {
    const c = await pool.connect(target.name, target.apiUrl, loopbackAddresses(o.localAddresses), o.connectConcurrency, 120_000);
    // Let subscriptions (rooms, per-node routes) settle before the clock starts.
    await sleep(1_000);
    const sentAt = new Map<string, number>();
    let sendErrors = 0;
    let firstError: string | undefined;
    const inFlight = new Set<Promise<void>>();
    const total = Math.round(o.fanoutRate * o.fanoutSeconds);
    const start = Date.now();
    for (let i = 0; i < total; i++) {
      // Open loop at the offered rate: wait for the slot, never for the previous send.
      const due = start + (i * 1000) / o.fanoutRate;
      if (due > Date.now()) await sleep(due - Date.now());
      const payload: Payload = { k: `f${i}`, t: nowMs(), f: "sender" };
      sentAt.set(payload.k, payload.t);
      const p = group
        .send(JSON.stringify(payload))
        .catch((err: unknown) => {
          sendErrors++;
          firstError ??= err instanceof Error ? err.message : String(err);
          sentAt.delete(payload.k);
        })
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
    await Promise.all(inFlight);
    const expected = sentAt.size * c.ok;
    const got = await drain(pool, expected, 15_000);
    const lastDelivery: number[] = [];
    let complete = 0;
    let deliveries = 0;
    for (const [k, v] of got.perMessage) {
      deliveries += v.deliveries;
      const t = sentAt.get(k);
      if (t === undefined) continue;
      if (v.deliveries >= c.ok) {
        complete++;
        lastDelivery.push(v.last - t);
      }
    }
    return {
      members: o.fanoutMembers,
      connected: c.ok,
      edgeNodes: target.edgeUrls.length,
      offeredRate: o.fanoutRate,
      sent: sentAt.size,
      sendErrors,
      firstError: firstError ?? c.firstError,
      complete,
      expectedDeliveries: expected,
      deliveries,
      duplicates: got.duplicates,
      sendToLastDelivery: summarize(lastDelivery),
      perDelivery: summarize(got.latenciesMs),
    };
  } finally {
    await pool.stop();
  }
}
