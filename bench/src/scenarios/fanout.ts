/**
 * (b) Fan-out: one group of M members (the clients), R msg/s for S s; send → every delivery and
 * send → the LAST member's delivery, deliveries per CPU-second of the stack (server processes +
 * the backends it uses), and the load generators' own CPU.
 * The ramp (scenario "ramp") reuses one connected group and raises R until p99 send → last
 * member goes over the budget.
 */
import { nowMs, sleep } from "../lib/clock.js";
import { startCpuMeter, type CpuUsage } from "../lib/cpu.js";
import type { BenchOptions } from "../lib/options.js";
import { encodePayload } from "../lib/payload.js";
import { summarize, summarizeEncoded, type LatencySummary } from "../lib/stats.js";
import type { BenchTarget, GroupHandle } from "../lib/target.js";
import { loopbackAddresses, WorkerPool, type ConnectResult } from "../lib/workers.js";
import { drain } from "./drain.js";

export interface FanoutResult {
  members: number;
  connected: number;
  edgeNodes: number;
  offeredRate: number;
  seconds: number;
  sent: number;
  sendErrors: number;
  firstError: string | undefined;
  /** Messages every connected member received. */
  complete: number;
  expectedDeliveries: number;
  /** Deliveries after client dedupe. */
  deliveries: number;
  duplicates: number;
  sendToLastDelivery: LatencySummary;
  perDelivery: LatencySummary;
  /** Send call → the server's answer (the write committed): tells a slow send path from a slow delivery path. */
  sendAck: LatencySummary;
  /** Send start → drain end. */
  cpu: CpuUsage;
  /** deliveries / (server + backend CPU-seconds). */
  deliveriesPerCpuSecond: number;
  stackCpuSeconds: number;
}

/** How long after the last send deliveries are still awaited: a slow stack's tail is its p99, not a cut-off. */
export const DRAIN_TIMEOUT_MS = 60_000;

export interface FanoutGroup {
  pool: WorkerPool;
  group: GroupHandle;
  connect: ConnectResult;
}

export async function prepareFanout(target: BenchTarget, o: BenchOptions): Promise<FanoutGroup> {
  const members = await target.users(o.fanoutMembers, { social: false });
  const group = await target.group(members);
  const clients = members.map((u, i) => ({ ...u, url: target.edgeUrls[i % target.edgeUrls.length] ?? "", rooms: [group.room] }));
  const pool = WorkerPool.start(clients, o.socketsPerWorker, 2);
  try {
    const connect = await pool.connect(target.driver, o.client, target.apiUrl, loopbackAddresses(o.localAddresses), o.connectConcurrency, 120_000);
    // Let subscriptions (rooms, per-node routes) settle before the clock starts.
    await sleep(1_000);
    return { pool, group, connect };
  } catch (err) {
    await pool.stop();
    throw err;
  }
}

export function stackCpuSeconds(cpu: CpuUsage): number {
  return cpu.serverCpuSeconds + Object.values(cpu.backendCpuSeconds).reduce((n, x) => n + x, 0);
}

export async function measureFanout(target: BenchTarget, g: FanoutGroup, o: BenchOptions, rate: number, seconds: number, keyPrefix: string): Promise<FanoutResult> {
  const { pool, group } = g;
  const connected = g.connect.ok;
  const sentAt = new Map<string, number>();
  let sendErrors = 0;
  let firstError: string | undefined;
  const inFlight = new Set<Promise<void>>();
  const sendLatencies: number[] = [];
  const total = Math.round(rate * seconds);
  const meter = startCpuMeter({ generators: pool.generators(), servers: target.servers, backends: target.backends });
  const start = Date.now();
  for (let i = 0; i < total; i++) {
    // Open loop at the offered rate: wait for the slot, never for the previous send.
    const due = start + (i * 1000) / rate;
    if (due > Date.now() + 1) await sleep(due - Date.now());
    const k = `${keyPrefix}${i}`;
    const t = nowMs();
    sentAt.set(k, t);
    const p = group
      .send(encodePayload({ k, t, f: "sender" }))
      .then(() => void sendLatencies.push(nowMs() - t))
      .catch((err: unknown) => {
        sendErrors++;
        firstError ??= err instanceof Error ? err.message : String(err);
        sentAt.delete(k);
      })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  }
  await Promise.all(inFlight);
  const expected = sentAt.size * connected;
  const got = await drain(pool, expected, DRAIN_TIMEOUT_MS);
  const cpu = meter.stop();
  const lastDelivery: number[] = [];
  let complete = 0;
  let deliveries = 0;
  for (const [k, v] of got.perMessage) {
    // Only this window's messages (a ramp step's late stragglers belong to the step before).
    const t = sentAt.get(k);
    if (t === undefined) continue;
    deliveries += v.deliveries;
    if (v.deliveries >= connected) {
      complete++;
      lastDelivery.push(v.last - t);
    }
  }
  const stackCpu = stackCpuSeconds(cpu);
  return {
    members: o.fanoutMembers,
    connected,
    edgeNodes: target.edgeUrls.length,
    offeredRate: rate,
    seconds,
    sent: sentAt.size,
    sendErrors,
    firstError: firstError ?? g.connect.firstError,
    complete,
    expectedDeliveries: expected,
    deliveries,
    duplicates: got.duplicates,
    sendToLastDelivery: summarize(lastDelivery),
    perDelivery: summarizeEncoded(got.latencies),
    sendAck: summarize(sendLatencies),
    cpu,
    stackCpuSeconds: stackCpu,
    deliveriesPerCpuSecond: stackCpu > 0 ? deliveries / stackCpu : 0,
  };
}

export async function runFanout(target: BenchTarget, o: BenchOptions, run: number): Promise<FanoutResult> {
  const g = await prepareFanout(target, o);
  try {
    return await measureFanout(target, g, o, o.fanoutRate, o.fanoutSeconds, `f${run}-`);
  } finally {
    await g.pool.stop();
  }
}

export interface RampResult {
  budgetMs: number;
  /** Highest offered rate whose p99 send → last member stayed under budget with every message complete (0 = none). */
  highestRateUnderBudget: number;
  steps: FanoutResult[];
  /** Why the ramp stopped. */
  stoppedBecause: string;
}

/** (b') The highest fan-out rate at which p99 send → last member stays under --p99-budget-ms. */
export async function runRamp(target: BenchTarget, o: BenchOptions, run: number): Promise<RampResult> {
  const g = await prepareFanout(target, o);
  const steps: FanoutResult[] = [];
  let best = 0;
  let stoppedBecause = "all rates under budget";
  try {
    for (const rate of o.rampRates) {
      const r = await measureFanout(target, g, o, rate, o.rampSeconds, `r${run}-${rate}-`);
      steps.push(r);
      if (r.cpu.clientBound) {
        stoppedBecause = `client-bound at ${rate} msg/s (a generator at ${Math.round(r.cpu.maxGeneratorPct)}% CPU)`;
        break;
      }
      if (r.complete < r.sent || r.sent === 0 || r.sendToLastDelivery.p99Ms >= o.p99BudgetMs) {
        stoppedBecause = `at ${rate} msg/s: p99 ${Math.round(r.sendToLastDelivery.p99Ms)} ms, ${r.complete}/${r.sent} complete`;
        break;
      }
      best = rate;
      // Let the stack drain whatever was left before the next step.
      await sleep(1_000);
    }
    return { budgetMs: o.p99BudgetMs, highestRateUnderBudget: best, steps, stoppedBecause };
  } finally {
    await g.pool.stop();
  }
}
