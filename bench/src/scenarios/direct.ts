/**
 * (c) 1-1 throughput: P pairs, each in its own 1-1 conversation, the two ends on different edge
 * nodes when there are several; R msg/s in total for S s. Latency is send → the other end's
 * delivery; lost = accepted sends never delivered; duplicates are counted after client dedupe.
 */
import { sleep } from "../lib/clock.js";
import { startCpuMeter, type CpuUsage } from "../lib/cpu.js";
import type { BenchOptions } from "../lib/options.js";
import { isMsg, type DirectPair, type ToWorker } from "../lib/protocol.js";
import { summarize, summarizeEncoded, type LatencySummary } from "../lib/stats.js";
import type { BenchTarget, BenchUser } from "../lib/target.js";
import { loopbackAddresses, WorkerPool } from "../lib/workers.js";
import { drain } from "./drain.js";
import { DRAIN_TIMEOUT_MS, stackCpuSeconds } from "./fanout.js";

export interface DirectResult {
  pairs: number;
  connected: number;
  offeredRate: number;
  seconds: number;
  sent: number;
  sendErrors: number;
  firstError: string | undefined;
  delivered: number;
  lost: number;
  duplicates: number;
  deliveredPerSec: number;
  sendToDelivery: LatencySummary;
  /** Time until the sender's call returned (RPC for Parley, emit ack for Socket.IO). */
  sendAck: LatencySummary;
  /** Send start → drain end. The workers send, so their CPU includes the senders'. */
  cpu: CpuUsage;
  stackCpuSeconds: number;
  deliveriesPerCpuSecond: number;
}

/**
 * Pairs and their conversations, made once per stack and reused by the repeated runs: for Parley
 * each pair is two registrations (argon2), a friendship and an OpenDirect, minutes at 500 pairs.
 */
const pairsByTarget = new WeakMap<BenchTarget, { pairs: Array<[BenchUser, BenchUser]>; rooms: string[] }>();

async function pairsFor(target: BenchTarget, count: number): Promise<{ pairs: Array<[BenchUser, BenchUser]>; rooms: string[] }> {
  const cached = pairsByTarget.get(target);
  if (cached && cached.pairs.length === count) return cached;
  const users = await target.users(count * 2, { social: true });
  const pairs: Array<[BenchUser, BenchUser]> = [];
  for (let i = 0; i + 1 < users.length; i += 2) pairs.push([users[i] as BenchUser, users[i + 1] as BenchUser]);
  const made = { pairs, rooms: await target.directs(pairs) };
  pairsByTarget.set(target, made);
  return made;
}

export async function runDirect(target: BenchTarget, o: BenchOptions, run: number): Promise<DirectResult> {
  const { pairs, rooms } = await pairsFor(target, o.directPairs);
  const edges = target.edgeUrls;
  const clients = pairs.flatMap(([a, b], i) => [
    { ...a, url: edges[0] ?? "", rooms: [rooms[i] ?? ""] },
    { ...b, url: edges[edges.length > 1 ? 1 : 0] ?? "", rooms: [rooms[i] ?? ""] },
  ]);
  const pool = WorkerPool.start(clients, o.socketsPerWorker, 2, 2);
  try {
    const c = await pool.connect(target.driver, o.client, target.apiUrl, loopbackAddresses(o.localAddresses), o.connectConcurrency, 120_000);
    await sleep(1_000);
    const meter = startCpuMeter({ generators: pool.generators(), servers: target.servers, backends: target.backends });
    pool.shares.forEach((share, w) => {
      // Alternate direction per pair so both ends send and receive.
      const local: DirectPair[] = [];
      for (let j = 0; j + 1 < share.length; j += 2) {
        const room = share[j]?.rooms[0] ?? "";
        local.push((j / 2) % 2 === 0 ? { from: j, to: j + 1, room } : { from: j + 1, to: j, room });
      }
      const rate = (o.directRate * share.length) / clients.length;
      pool.send(w, { t: "direct", pairs: local, ratePerSec: rate, durationMs: o.directSeconds * 1000, keyPrefix: `d${run}w${w}-` } satisfies ToWorker);
    });
    const sentParts = await Promise.all(pool.workers.map((w) => w.next(isMsg("directSent"), o.directSeconds * 1000 + 60_000, "direct sends")));
    const sent = sentParts.reduce((n, p) => n + p.sent, 0);
    const sendErrors = sentParts.reduce((n, p) => n + p.sendErrors, 0);
    const accepted = sent - sendErrors;
    const got = await drain(pool, accepted, DRAIN_TIMEOUT_MS);
    const cpu = meter.stop();
    let delivered = 0;
    // Only this run's keys: the pairs are reused across runs, and a redelivery from an earlier run is not this run's delivery.
    const prefix = `d${run}w`;
    for (const [k, v] of got.perMessage) if (k.startsWith(prefix)) delivered += Math.min(1, v.deliveries);
    const stackCpu = stackCpuSeconds(cpu);
    return {
      pairs: o.directPairs,
      connected: c.ok,
      offeredRate: o.directRate,
      seconds: o.directSeconds,
      sent,
      sendErrors,
      firstError: sentParts.find((p) => p.firstError)?.firstError ?? c.firstError,
      delivered,
      lost: Math.max(0, accepted - delivered),
      duplicates: got.duplicates,
      deliveredPerSec: delivered / o.directSeconds,
      sendToDelivery: summarizeEncoded(got.latencies),
      sendAck: summarize(sentParts.flatMap((p) => p.sendLatenciesMs)),
      cpu,
      stackCpuSeconds: stackCpu,
      deliveriesPerCpuSecond: stackCpu > 0 ? delivered / stackCpu : 0,
    };
  } finally {
    await pool.stop();
  }
}
