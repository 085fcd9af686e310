/**
 * Writes bench/results/<date>.md and .json: numbers only, no pass/fail. Every scenario table has
 * one column per stack, each figure the median over --repeat runs (min–max beside it when there
 * were several), the load generators' CPU beside the figures of the same window, a CLIENT-BOUND
 * flag where a generator process went over CLIENT_BOUND_PCT, and ratios against the Socket.IO +
 * Redis adapter column of the same run.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import type { CapacityResult } from "../scenarios/capacity.js";
import type { DirectResult } from "../scenarios/direct.js";
import type { FanoutResult, RampResult } from "../scenarios/fanout.js";
import type { HistoryResult } from "../scenarios/history.js";
import { CLIENT_BOUND_PCT, type CpuUsage } from "./cpu.js";
import type { BenchOptions } from "./options.js";
import type { LatencySummary } from "./stats.js";
import { STACK_NAMES, type StackName } from "./target.js";

export type Failed = { error: string };
export type Runs<T> = Array<T | Failed>;

export interface TargetResults {
  description: string;
  capacity: Runs<CapacityResult>;
  fanout: Runs<FanoutResult>;
  ramp: Runs<RampResult>;
  direct: Runs<DirectResult>;
  history?: HistoryResult | Failed;
}

export interface BenchReport {
  startedAt: string;
  finishedAt: string;
  /** Free text given with --label (e.g. "before" / "after" and a commit). */
  label: string;
  machine: { cpus: number; cpuModel: string; memGiB: number; node: string; loadAvgAtStart: number[] };
  options: Omit<BenchOptions, "scenarios"> & { scenarios: string[] };
  results: Partial<Record<StackName, TargetResults>>;
  notes: string[];
}

export const LABELS: Record<StackName, string> = {
  parley: "Parley",
  "parley-split": "Parley, edge apart",
  "parley-embedded": "Parley embedded",
  socketio: "Socket.IO",
  "socketio-redis": "Socket.IO + Redis adapter",
  uws: "raw uWebSockets.js pub/sub (floor)",
  "parley-cluster": "Parley cluster (make cluster)",
};
/** The peer every ratio is taken against. */
const PEER: StackName = "socketio-redis";

const isFailed = (v: object): v is Failed => "error" in v;
const n = (x: number, digits = 0) => x.toLocaleString("en-US", { maximumFractionDigits: digits });

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

export function okRuns<T extends object>(runs: Runs<T> | undefined): T[] {
  return (runs ?? []).filter((r): r is T => !isFailed(r));
}

/** Median of f over the successful runs, with min–max when there were several. */
function stat<T extends object>(runs: Runs<T> | undefined, f: (r: T) => number, fmt: (x: number) => string): string {
  if (!runs || runs.length === 0) return "–";
  const ok = okRuns(runs);
  if (ok.length === 0) return `error: ${(runs[0] as Failed).error}`;
  const xs = ok.map(f);
  const m = fmt(median(xs));
  const failed = runs.length - ok.length;
  const spread = xs.length > 1 ? ` (${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))})` : "";
  return `${m}${spread}${failed ? ` [${failed} run(s) failed]` : ""}`;
}

export function medianOf<T extends object>(runs: Runs<T> | undefined, f: (r: T) => number): number {
  return median(okRuns(runs).map(f));
}

/** Generator CPU over the runs: the busiest process's CPU% (median), each process of the median run, and the client-bound flag. */
function generatorCell<T extends { cpu: CpuUsage }>(runs: Runs<T> | undefined): string {
  const ok = okRuns(runs);
  if (ok.length === 0) return "–";
  const sorted = [...ok].sort((a, b) => a.cpu.maxGeneratorPct - b.cpu.maxGeneratorPct);
  const mid = sorted[Math.floor(sorted.length / 2)] as T;
  const per = mid.cpu.generators.map((g) => `${g.role} ${Math.round(g.cpuPct)}%`).join(" · ");
  const bound = ok.filter((r) => r.cpu.clientBound).length;
  const flag = bound > 0 ? `**CLIENT-BOUND in ${bound}/${ok.length} run(s)** — ` : "";
  return `${flag}max ${Math.round(mid.cpu.maxGeneratorPct)}% (${per})`;
}

function stackCpuCell<T extends { cpu: CpuUsage }>(runs: Runs<T> | undefined): string {
  const ok = okRuns(runs);
  if (ok.length === 0) return "–";
  const server = n(median(ok.map((r) => r.cpu.serverCpuSeconds)), 2);
  const keys = [...new Set(ok.flatMap((r) => Object.keys(r.cpu.backendCpuSeconds)))] as Array<keyof CpuUsage["backendCpuSeconds"]>;
  const backends = keys.map((k) => `${k} ${n(median(ok.map((r) => r.cpu.backendCpuSeconds[k] ?? 0)), 2)}`);
  return [`server ${server}`, ...backends].join(" + ") + " CPU-s";
}

/** CPU-seconds and % of one core per server process (its role), median over the runs: where the stack's own CPU went. */
function serverCpuCell<T extends { cpu: CpuUsage }>(runs: Runs<T> | undefined): string {
  const ok = okRuns(runs);
  if (ok.length === 0) return "–";
  const roles = [...new Set(ok.flatMap((r) => r.cpu.servers.map((s) => s.role)))];
  const of = (r: T, role: string) => r.cpu.servers.filter((s) => s.role === role);
  return roles
    .map((role) => {
      const sec = median(ok.map((r) => of(r, role).reduce((a, s) => a + s.cpuSeconds, 0)));
      const pct = median(ok.map((r) => of(r, role).reduce((a, s) => a + s.cpuPct, 0)));
      return `${role} ${n(sec, 2)} s (${n(pct)}%)`;
    })
    .join(" · ");
}

// `undefined`: a figure an older report (read by compare) did not record.
const lat = (pick: (s: LatencySummary) => number) => (s: LatencySummary | undefined) => (s === undefined || s.count === 0 ? Number.NaN : pick(s));
const ms = (x: number) => (Number.isNaN(x) ? "n/a" : `${n(x, x < 10 ? 1 : 0)} ms`);

export function writeReport(r: BenchReport, dir: string): { md: string; json: string } {
  mkdirSync(dir, { recursive: true });
  const stamp = r.startedAt.replace(/[:]/g, "-").replace(/\..*$/, "");
  const json = join(dir, `${stamp}.json`);
  const md = join(dir, `${stamp}.md`);
  writeFileSync(json, `${JSON.stringify(r, null, 2)}\n`);
  writeFileSync(md, render(r));
  return { md, json };
}

export function render(r: BenchReport): string {
  const t = r.results;
  const names = STACK_NAMES.filter((k) => t[k]);
  const res = (k: StackName) => t[k] as TargetResults;
  const row = (title: string, cell: (x: TargetResults, k: StackName) => string) => `| ${title} | ${names.map((k) => cell(res(k), k)).join(" | ")} |`;
  const head = `| | ${names.map((k) => LABELS[k]).join(" | ")} |\n|---|${names.map(() => "---").join("|")}|`;
  const ratio = (k: StackName, v: number, peerV: number, higherIsBetter: boolean) => {
    if (k === PEER || !t[PEER] || !Number.isFinite(v) || !Number.isFinite(peerV) || peerV === 0 || v === 0) return "";
    const x = v / peerV;
    return ` (×${n(x, 2)} vs ${LABELS[PEER]}${higherIsBetter ? "" : ", lower is better"})`;
  };
  const withRatio = <T extends object>(get: (x: TargetResults) => Runs<T>, f: (r: T) => number, fmt: (x: number) => string, higherIsBetter: boolean) =>
    (x: TargetResults, k: StackName) => {
      const base = stat(get(x), f, fmt);
      const peer = t[PEER];
      return peer ? base + ratio(k, medianOf(get(x), f), medianOf(get(peer), f), higherIsBetter) : base;
    };
  const o = r.options;
  const ran = (count: (x: TargetResults) => number) => names.some((k) => count(res(k)) > 0);
  const clientLabel =
    o.client === "light"
      ? "**light** (plain `ws`, minimal decode, batched acks; bench/README.md)"
      : "**real SDK client** (Parley RealtimeClient + RPC client, socket.io-client) — measures the client libraries as much as the servers";
  const anyBound = names.some((k) =>
    [...okRuns(res(k).capacity), ...okRuns(res(k).fanout), ...okRuns(res(k).direct), ...okRuns(res(k).ramp).flatMap((x) => x.steps)].some((x) => x.cpu.clientBound),
  );
  const fan = (x: TargetResults) => x.fanout;
  const dir = (x: TargetResults) => x.direct;
  const cap = (x: TargetResults) => x.capacity;
  const ramp = (x: TargetResults) => x.ramp;
  const his = (x: TargetResults, f: (c: HistoryResult) => string) => (x.history === undefined ? "n/a" : isFailed(x.history) ? `error: ${x.history.error}` : f(x.history));
  const fmtHist = (s: LatencySummary) => (s.count === 0 ? "n/a" : `p50 ${s.p50Ms} ms · p99 ${s.p99Ms} ms · max ${s.maxMs} ms (n=${s.count})`);

  return `# Parley bench — ${r.startedAt} (${o.mode}${r.label ? `, ${r.label}` : ""})

Machine: ${r.machine.cpus} × ${r.machine.cpuModel}, ${n(r.machine.memGiB, 1)} GiB, Node ${r.machine.node}; load average at start
${r.machine.loadAvgAtStart.map((x) => n(x, 2)).join(" / ")}. Everything (servers, Postgres, Redis, NATS, load generators) shares
this machine. Numbers only; nothing here is asserted. Clients: ${clientLabel}. Each figure is the median of
${o.repeat} run(s) (min–max in brackets). **Load generator CPU** = (user+sys)/wall of each generator process
(the runner and every client worker) over the same window; a run where any went over ${CLIENT_BOUND_PCT}% is
flagged CLIENT-BOUND: its latency and throughput say more about the client than the server.
${anyBound ? "\n> ⚠ At least one figure below comes from a client-bound run (see the generator rows).\n" : ""}
Stacks:
${names.map((k) => `- **${LABELS[k]}**: ${res(k).description}`).join("\n")}

## Summary
${renderHeadline(r)}

${ran((x) => x.fanout.length) ? `## (b) Fan-out — group of ${n(o.fanoutMembers)}, ${n(o.fanoutRate)} msg/s for ${n(o.fanoutSeconds)} s
${head}
${row("members connected / edge nodes", (x) => stat(fan(x), (f) => f.connected, n) + ` / ${okRuns(fan(x))[0]?.edgeNodes ?? "–"}`)}
${row("messages sent (errors)", (x) => stat(fan(x), (f) => f.sent, n) + ` (${stat(fan(x), (f) => f.sendErrors, n)})`)}
${row("deliveries / expected", (x) => `${stat(fan(x), (f) => f.deliveries, n)} / ${stat(fan(x), (f) => f.expectedDeliveries, n)}`)}
${row("messages reaching every member", (x) => `${stat(fan(x), (f) => f.complete, n)} / ${stat(fan(x), (f) => f.sent, n)}`)}
${row("send → delivery p50", withRatio(fan, (f) => lat((s) => s.p50Ms)(f.perDelivery), ms, false))}
${row("send → delivery p99", withRatio(fan, (f) => lat((s) => s.p99Ms)(f.perDelivery), ms, false))}
${row("send → last member p50", withRatio(fan, (f) => lat((s) => s.p50Ms)(f.sendToLastDelivery), ms, false))}
${row("send → last member p99", withRatio(fan, (f) => lat((s) => s.p99Ms)(f.sendToLastDelivery), ms, false))}
${row("send → last member max", (x) => stat(fan(x), (f) => lat((s) => s.maxMs)(f.sendToLastDelivery), ms))}
${row("send call → ack p50 / p99", (x) => `${stat(fan(x), (f) => lat((s) => s.p50Ms)(f.sendAck), ms)} / ${stat(fan(x), (f) => lat((s) => s.p99Ms)(f.sendAck), ms)}`)}
${row("duplicates after dedupe", (x) => stat(fan(x), (f) => f.duplicates, n))}
${row("stack CPU (server + backends)", (x) => stackCpuCell(fan(x)))}
${row("server CPU per process", (x) => serverCpuCell(fan(x)))}
${row("deliveries per stack CPU-second", withRatio(fan, (f) => f.deliveriesPerCpuSecond, (v) => n(v), true))}
${row("load generator CPU", (x) => generatorCell(fan(x)))}

` : ""}${ran((x) => x.ramp.length) ? `## (b') Highest fan-out rate with p99 send → last member < ${n(o.p99BudgetMs)} ms — group of ${n(o.fanoutMembers)}, rates ${o.rampRates.join(", ")} msg/s, ${n(o.rampSeconds)} s each
${head}
${row("highest rate under budget", withRatio(ramp, (x) => x.highestRateUnderBudget, (v) => `${n(v)} msg/s`, true))}
${row("stopped because", (x) => okRuns(ramp(x)).map((z) => z.stoppedBecause).join("; ") || stat(ramp(x), () => 0, n))}
${row("steps (rate: p99 last member, generator max CPU)", (x) => okRuns(ramp(x))[0]?.steps.map((s) => `${s.offeredRate}: ${ms(lat((z) => z.p99Ms)(s.sendToLastDelivery))}, ${Math.round(s.cpu.maxGeneratorPct)}%${s.cpu.clientBound ? " CLIENT-BOUND" : ""}`).join("; ") ?? "–")}

` : ""}${ran((x) => x.direct.length) ? `## (c) 1-1 — ${n(o.directPairs)} pairs, ${n(o.directRate)} msg/s offered for ${n(o.directSeconds)} s
${head}
${row("clients connected", (x) => stat(dir(x), (d) => d.connected, n))}
${row("sent (errors)", (x) => `${stat(dir(x), (d) => d.sent, n)} (${stat(dir(x), (d) => d.sendErrors, n)})`)}
${row("delivered / s", withRatio(dir, (d) => d.deliveredPerSec, (v) => n(v, 1), true))}
${row("send → delivery p50", withRatio(dir, (d) => lat((s) => s.p50Ms)(d.sendToDelivery), ms, false))}
${row("send → delivery p99", withRatio(dir, (d) => lat((s) => s.p99Ms)(d.sendToDelivery), ms, false))}
${row("send call → ack p99", (x) => stat(dir(x), (d) => lat((s) => s.p99Ms)(d.sendAck), ms))}
${row("lost", (x) => stat(dir(x), (d) => d.lost, n))}
${row("duplicates after dedupe", (x) => stat(dir(x), (d) => d.duplicates, n))}
${row("stack CPU (server + backends)", (x) => stackCpuCell(dir(x)))}
${row("server CPU per process", (x) => serverCpuCell(dir(x)))}
${row("deliveries per stack CPU-second", withRatio(dir, (d) => d.deliveriesPerCpuSecond, (v) => n(v), true))}
${row("load generator CPU (senders included)", (x) => generatorCell(dir(x)))}

` : ""}${ran((x) => x.capacity.length) ? `## (a) Idle sockets — ${n(o.capacitySockets)} authenticated sockets on one node, RSS after GC (${n(o.capacityIdleSeconds ?? 3)} s idle before each reading)
${head}
${row("sockets held", (x) => `${stat(cap(x), (c) => c.held, n)} / ${n(o.capacitySockets)}${okRuns(cap(x)).some((c) => c.failed) ? ` (failed: ${okRuns(cap(x)).find((c) => c.firstError)?.firstError ?? ""})` : ""}`)}
${row("time to connect all", (x) => stat(cap(x), (c) => c.connectSeconds, (v) => `${n(v, 1)} s`))}
${row("server RSS before → after (GC)", (x) => `${stat(cap(x), (c) => c.rssBeforeMiB, (v) => n(v, 1))} → ${stat(cap(x), (c) => c.rssAfterMiB, (v) => n(v, 1))} MiB`)}
${row("RSS delta / socket (after GC)", withRatio(cap, (c) => c.bytesPerSocket / 1024, (v) => `${n(v, 1)} KiB`, false))}
${row("server fds", (x) => stat(cap(x), (c) => c.serverFds, n))}
${row("dropped while idle", (x) => stat(cap(x), (c) => c.droppedWhileIdle, n))}
${row("load generator CPU (connect + idle)", (x) => generatorCell(cap(x)))}

` : ""}${ran((x) => (x.history ? 1 : 0)) ? `## (d) History — real Postgres, ${n(o.historyMessages)} messages, ${n(o.historyConversations)} conversations (Parley only)
${head}
${row("rows seeded (seconds)", (x) => his(x, (h) => `${n(h.messages)} msgs, ${n(h.conversations)} convs (${n(h.seedSeconds, 1)} s)`))}
${row("ListMessages, 50, newest", (x) => his(x, (h) => fmtHist(h.listMessagesNewest)))}
${row("ListMessages, 50, random cursor", (x) => his(x, (h) => fmtHist(h.listMessagesRandom)))}
${row("ListConversations, 50, first page", (x) => his(x, (h) => fmtHist(h.listConversationsFirst)))}
${row("ListConversations, 50, deep pages", (x) => his(x, (h) => fmtHist(h.listConversationsDeep)))}

` : ""}## Notes
${r.notes.map((x) => `- ${x}`).join("\n")}

Options: \`${JSON.stringify({ ...o, resultsDir: undefined, postgresUrl: undefined })}\`
`;
}

export function machineInfo(loadAvg: number[]): BenchReport["machine"] {
  const c = cpus();
  return { cpus: c.length, cpuModel: c[0]?.model ?? "unknown", memGiB: totalmem() / 1024 ** 3, node: process.version, loadAvgAtStart: loadAvg };
}

/** The figures the delivery-pipeline work is judged by, per stack: medians over the runs. */
export function headline(r: BenchReport): Array<{ figure: string; cells: Partial<Record<StackName, string>> }> {
  const o = r.options;
  const rows: Array<{ figure: string; get: (x: TargetResults) => string }> = [
    { figure: `fan-out ${n(o.fanoutMembers)} × ${n(o.fanoutRate)}/s: send → delivery p99`, get: (x) => stat(x.fanout, (f) => lat((s) => s.p99Ms)(f.perDelivery), ms) },
    { figure: "fan-out: send → last member p99", get: (x) => stat(x.fanout, (f) => lat((s) => s.p99Ms)(f.sendToLastDelivery), ms) },
    { figure: "fan-out: deliveries per stack CPU-s", get: (x) => stat(x.fanout, (f) => f.deliveriesPerCpuSecond, (v) => n(v)) },
    { figure: "fan-out: stack CPU", get: (x) => stackCpuCell(x.fanout) },
    { figure: "fan-out: load generator CPU", get: (x) => generatorCell(x.fanout) },
    { figure: `highest fan-out rate with p99 < ${n(o.p99BudgetMs)} ms`, get: (x) => stat(x.ramp, (z) => z.highestRateUnderBudget, (v) => `${n(v)} msg/s`) },
    { figure: `1-1 ${n(o.directPairs)} pairs @ ${n(o.directRate)}/s: delivered/s`, get: (x) => stat(x.direct, (d) => d.deliveredPerSec, (v) => n(v, 1)) },
    { figure: "1-1: send → delivery p99", get: (x) => stat(x.direct, (d) => lat((s) => s.p99Ms)(d.sendToDelivery), ms) },
    { figure: "1-1: lost / duplicated", get: (x) => `${stat(x.direct, (d) => d.lost, n)} / ${stat(x.direct, (d) => d.duplicates, n)}` },
    { figure: "1-1: load generator CPU", get: (x) => generatorCell(x.direct) },
    { figure: `idle RSS / socket after GC (${n(o.capacitySockets)} sockets)`, get: (x) => stat(x.capacity, (c) => c.bytesPerSocket / 1024, (v) => `${n(v, 1)} KiB`) },
  ];
  return rows.map(({ figure, get }) => {
    const cells: Partial<Record<StackName, string>> = {};
    for (const k of STACK_NAMES) {
      const x = r.results[k];
      if (x) cells[k] = get(x);
    }
    return { figure, cells };
  });
}

export function renderHeadline(r: BenchReport): string {
  const names = STACK_NAMES.filter((k) => r.results[k]);
  const rows = headline(r).filter((row) => names.some((k) => !/^[–\s/]*$/.test(row.cells[k] ?? "–")));
  return [`| | ${names.map((k) => LABELS[k]).join(" | ")} |`, `|---|${names.map(() => "---").join("|")}|`, ...rows.map((row) => `| ${row.figure} | ${names.map((k) => row.cells[k] ?? "–").join(" | ")} |`)].join("\n");
}
