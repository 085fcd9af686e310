/** Writes bench/results/<date>.md and .json: numbers only, no pass/fail. */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import type { CapacityResult } from "../scenarios/capacity.js";
import type { DirectResult } from "../scenarios/direct.js";
import type { FanoutResult } from "../scenarios/fanout.js";
import type { HistoryResult } from "../scenarios/history.js";
import type { BenchOptions } from "./options.js";
import { fmtLatency } from "./stats.js";

export interface TargetResults {
  description: string;
  capacity?: CapacityResult | { error: string };
  fanout?: FanoutResult | { error: string };
  direct?: DirectResult | { error: string };
  history?: HistoryResult | { error: string };
}

export interface BenchReport {
  startedAt: string;
  finishedAt: string;
  machine: { cpus: number; cpuModel: string; memGiB: number; node: string };
  options: Omit<BenchOptions, "scenarios"> & { scenarios: string[] };
  results: Partial<Record<"parley" | "socketio", TargetResults>>;
  notes: string[];
}

const isError = (v: object | undefined): v is { error: string } => v !== undefined && "error" in v;
const n = (x: number, digits = 0) => x.toLocaleString("en-US", { maximumFractionDigits: digits });

export function writeReport(r: BenchReport, dir: string): { md: string; json: string } {
  mkdirSync(dir, { recursive: true });
  const stamp = r.startedAt.replace(/[:]/g, "-").replace(/\..*$/, "");
  const json = join(dir, `${stamp}.json`);
  const md = join(dir, `${stamp}.md`);
  writeFileSync(json, `${JSON.stringify(r, null, 2)}\n`);
  writeFileSync(md, render(r));
  return { md, json };
}

function render(r: BenchReport): string {
  const t = r.results;
  const names = (["parley", "socketio"] as const).filter((k) => t[k]);
  const label = { parley: "Parley", socketio: "Socket.IO + Redis adapter" } as const;
  const row = (title: string, cell: (x: TargetResults) => string) => `| ${title} | ${names.map((k) => cell(t[k] as TargetResults)).join(" | ")} |`;
  const head = `| | ${names.map((k) => label[k]).join(" | ")} |\n|---|${names.map(() => "---").join("|")}|`;
  const cap = (x: TargetResults, f: (c: CapacityResult) => string) => (x.capacity === undefined ? "–" : isError(x.capacity) ? `error: ${x.capacity.error}` : f(x.capacity));
  const fan = (x: TargetResults, f: (c: FanoutResult) => string) => (x.fanout === undefined ? "–" : isError(x.fanout) ? `error: ${x.fanout.error}` : f(x.fanout));
  const dir = (x: TargetResults, f: (c: DirectResult) => string) => (x.direct === undefined ? "–" : isError(x.direct) ? `error: ${x.direct.error}` : f(x.direct));
  const his = (x: TargetResults, f: (c: HistoryResult) => string) => (x.history === undefined ? "n/a" : isError(x.history) ? `error: ${x.history.error}` : f(x.history));
  const o = r.options;
  return `# Parley bench — ${r.startedAt} (${o.mode})

Machine: ${r.machine.cpus} × ${r.machine.cpuModel}, ${n(r.machine.memGiB, 1)} GiB, Node ${r.machine.node}. Everything (servers,
Postgres, Redis, NATS, client workers) shares this machine, so absolute numbers are a floor.
Numbers only; nothing here is asserted.

Stacks:
${names.map((k) => `- **${label[k]}**: ${(t[k] as TargetResults).description}`).join("\n")}

## (a) Edge capacity — ${n(o.capacitySockets)} idle authenticated sockets on one node
${head}
${row("sockets held", (x) => cap(x, (c) => `${n(c.held)} / ${n(c.requested)}${c.failed ? ` (${n(c.failed)} failed: ${c.firstError ?? ""})` : ""}`))}
${row("time to connect all", (x) => cap(x, (c) => `${n(c.connectSeconds, 1)} s`))}
${row("server RSS before → after", (x) => cap(x, (c) => `${n(c.rssBeforeMiB, 1)} → ${n(c.rssAfterMiB, 1)} MiB`))}
${row("RSS per socket", (x) => cap(x, (c) => `${n(c.bytesPerSocket)} B`))}
${row("server fds", (x) => cap(x, (c) => n(c.serverFds)))}
${row("dropped while idle", (x) => cap(x, (c) => n(c.droppedWhileIdle)))}

## (b) Fan-out — group of ${n(o.fanoutMembers)}, ${n(o.fanoutRate)} msg/s for ${n(o.fanoutSeconds)} s
${head}
${row("members connected / edge nodes", (x) => fan(x, (f) => `${n(f.connected)} / ${f.edgeNodes}`))}
${row("messages sent (errors)", (x) => fan(x, (f) => `${n(f.sent)} (${n(f.sendErrors)}${f.firstError ? `: ${f.firstError}` : ""})`))}
${row("deliveries / expected", (x) => fan(x, (f) => `${n(f.deliveries)} / ${n(f.expectedDeliveries)}`))}
${row("messages reaching every member", (x) => fan(x, (f) => `${n(f.complete)} / ${n(f.sent)}`))}
${row("send → last delivery", (x) => fan(x, (f) => fmtLatency(f.sendToLastDelivery)))}
${row("send → each delivery", (x) => fan(x, (f) => fmtLatency(f.perDelivery)))}
${row("duplicates after dedupe", (x) => fan(x, (f) => n(f.duplicates)))}

## (c) 1-1 — ${n(o.directPairs)} pairs, ${n(o.directRate)} msg/s offered for ${n(o.directSeconds)} s
${head}
${row("clients connected", (x) => dir(x, (d) => n(d.connected)))}
${row("sent (errors)", (x) => dir(x, (d) => `${n(d.sent)} (${n(d.sendErrors)}${d.firstError ? `: ${d.firstError}` : ""})`))}
${row("delivered / s", (x) => dir(x, (d) => n(d.deliveredPerSec, 1)))}
${row("send → delivery", (x) => dir(x, (d) => fmtLatency(d.sendToDelivery)))}
${row("send call → ack", (x) => dir(x, (d) => fmtLatency(d.sendAck)))}
${row("lost", (x) => dir(x, (d) => n(d.lost)))}
${row("duplicates after dedupe", (x) => dir(x, (d) => n(d.duplicates)))}

## (d) History — real Postgres, ${n(o.historyMessages)} messages, ${n(o.historyConversations)} conversations (Parley only)
${head}
${row("rows seeded (seconds)", (x) => his(x, (h) => `${n(h.messages)} msgs, ${n(h.conversations)} convs (${n(h.seedSeconds, 1)} s)`))}
${row("ListMessages, 50, newest", (x) => his(x, (h) => fmtLatency(h.listMessagesNewest)))}
${row("ListMessages, 50, random cursor", (x) => his(x, (h) => fmtLatency(h.listMessagesRandom)))}
${row("ListConversations, 50, first page", (x) => his(x, (h) => fmtLatency(h.listConversationsFirst)))}
${row("ListConversations, 50, deep pages", (x) => his(x, (h) => fmtLatency(h.listConversationsDeep)))}

## Notes
${r.notes.map((x) => `- ${x}`).join("\n")}

Options: \`${JSON.stringify({ ...o, resultsDir: undefined, postgresUrl: undefined })}\`
`;
}

export function machineInfo(): BenchReport["machine"] {
  const c = cpus();
  return { cpus: c.length, cpuModel: c[0]?.model ?? "unknown", memGiB: totalmem() / 1024 ** 3, node: process.version };
}
