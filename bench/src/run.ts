/**
 * `pnpm bench [-- --quick | --full] [--only=capacity,fanout,direct,history] [--targets=parley,socketio]`
 * Runs each scenario against each stack, one stack at a time on this machine, and writes
 * bench/results/<date>.md and .json. Reports numbers; asserts nothing. Every size is a flag or
 * a BENCH_* env var (lib/options.ts).
 */
import { writeReport, machineInfo, type BenchReport, type TargetResults } from "./lib/report.js";
import { assertLoopback, parseOptions, type BenchOptions } from "./lib/options.js";
import type { BenchTarget } from "./lib/target.js";
import { runCapacity } from "./scenarios/capacity.js";
import { runDirect } from "./scenarios/direct.js";
import { runFanout } from "./scenarios/fanout.js";
import { startSocketIo } from "./socketio/stack.js";
import { startParley, type ParleyTarget } from "./parley/stack.js";

const o = parseOptions(process.argv.slice(2), process.env);
for (const u of [o.postgresUrl, o.redisUrl, o.natsUrl]) assertLoopback(u);

// Hard stop: whatever hangs, the bench ends by itself.
const HARD_LIMIT_MS = (o.mode === "full" ? 60 : 10) * 60_000;
setTimeout(() => {
  console.error(`bench: hard time limit of ${HARD_LIMIT_MS / 60_000} min reached, exiting`);
  process.exit(2);
}, HARD_LIMIT_MS).unref();

const log = (msg: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);

async function step<T>(name: string, fn: () => Promise<T>): Promise<T | { error: string }> {
  log(`${name} …`);
  const started = Date.now();
  try {
    const r = await fn();
    log(`${name} done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return r;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    log(`${name} FAILED: ${message}`);
    return { error: message };
  }
}

async function runAll(target: BenchTarget, opts: BenchOptions, out: TargetResults): Promise<void> {
  for (const u of target.edgeUrls) assertLoopback(u);
  if (opts.scenarios.has("capacity")) out.capacity = await step(`${target.name}: (a) capacity`, () => runCapacity(target, opts));
  if (opts.scenarios.has("fanout")) out.fanout = await step(`${target.name}: (b) fan-out`, () => runFanout(target, opts));
  if (opts.scenarios.has("direct")) out.direct = await step(`${target.name}: (c) 1-1`, () => runDirect(target, opts));
}

const report: BenchReport = {
  startedAt: new Date().toISOString(),
  finishedAt: "",
  machine: machineInfo(),
  options: { ...o, scenarios: [...o.scenarios] },
  results: {},
  notes: [
    "Socket.IO baseline persists nothing and keeps nothing for disconnected clients (a room broadcast through the Redis adapter and no more); Parley writes every message to Postgres in a transaction with its outbox row, publishes it on the bus, tracks acks and redelivers. The comparison favours Socket.IO on purpose.",
    "Latency is measured send call → message handed to the application by the client library (after the SDK's dedupe for Parley), with clocks from performance.timeOrigin+now() on one machine.",
    "Client sockets are spread over several worker processes and 127.0.0.x source addresses; all traffic stays on loopback.",
    "Parley tokens are minted by the bench with the server's own signing key (it passes JWT_PRIVATE_JWK to the server); users that need friendships (1-1) are registered and e-mail-verified through the API.",
  ],
};

for (const name of o.targets) {
  const out: TargetResults = { description: "" };
  report.results[name] = out;
  if (name === "socketio") {
    const started = await step("socketio: start", () => startSocketIo({ instances: o.socketIoInstances, redisUrl: o.redisUrl }));
    if ("error" in started) {
      out.description = `failed to start: ${started.error}`;
      continue;
    }
    out.description = `socket.io ${o.socketIoInstances} instances (websocket transport only, no compression) with @socket.io/redis-adapter on local Redis; one room per conversation; nothing persisted`;
    try {
      await runAll(started, o, out);
    } finally {
      await started.stop();
    }
  } else {
    const started = await step("parley: start", () => startParley(o));
    if ("error" in started) {
      out.description = `failed to start: ${started.error}`;
      continue;
    }
    const target: ParleyTarget = started;
    out.description = target.description;
    try {
      await runAll(target, o, out);
      if (o.scenarios.has("history")) out.history = await step("parley: (d) history", () => target.history(o));
    } finally {
      await target.stop();
    }
  }
}

report.finishedAt = new Date().toISOString();
const files = writeReport(report, o.resultsDir);
log(`wrote ${files.md} and ${files.json}`);
process.exit(0);
