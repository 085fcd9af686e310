/**
 * `pnpm bench [-- --quick | --full] [--only=capacity,fanout,ramp,direct,history]
 *   [--targets=parley,parley-split,parley-cluster,parley-embedded,socketio,socketio-redis,uws] [--client=light|sdk] [--repeat=N]`
 * Runs each scenario --repeat times against each stack, one stack at a time on this machine, and
 * writes bench/results/<date>.md and .json. Reports numbers; asserts nothing. Every size is a
 * flag or a BENCH_* env var (lib/options.ts).
 */
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { writeReport, machineInfo, type BenchReport, type Runs, type TargetResults } from "./lib/report.js";
import { assertLoopback, parseOptions, type BenchOptions } from "./lib/options.js";
import type { BenchTarget, StackName } from "./lib/target.js";
import { runCapacity } from "./scenarios/capacity.js";
import { runDirect } from "./scenarios/direct.js";
import { runFanout, runRamp } from "./scenarios/fanout.js";
import { startSocketIo } from "./socketio/stack.js";
import { startParley, type ParleyTarget } from "./parley/stack.js";
import { startParleyCluster } from "./parley/cluster.js";

const argv = process.argv.slice(2);
// --label=<text> tags the report (e.g. "before, main@abc123"); not a size, so read here.
const labelArg = argv.find((a) => a.startsWith("--label="));
const label = labelArg?.slice("--label=".length) ?? process.env.BENCH_LABEL ?? "";
const o = parseOptions(
  argv.filter((a) => a !== labelArg),
  process.env,
);
for (const u of [o.postgresUrl, o.redisUrl, o.natsUrl]) assertLoopback(u);

// Hard stop: whatever hangs, the bench ends by itself.
const HARD_LIMIT_MS = (o.mode === "full" ? 45 : 10) * 60_000 * Math.max(1, o.repeat);
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

async function repeated<T>(name: string, opts: BenchOptions, fn: (run: number) => Promise<T>): Promise<Runs<T>> {
  const out: Runs<T> = [];
  for (let i = 0; i < opts.repeat; i++) out.push(await step(`${name} run ${i + 1}/${opts.repeat}`, () => fn(i)));
  return out;
}

async function runAll(target: BenchTarget, opts: BenchOptions, out: TargetResults): Promise<void> {
  for (const u of target.edgeUrls) assertLoopback(u);
  const s = opts.scenarios;
  if (s.has("capacity")) out.capacity = await repeated(`${target.name}: (a) idle sockets`, opts, () => runCapacity(target, opts));
  if (s.has("fanout")) out.fanout = await repeated(`${target.name}: (b) fan-out`, opts, (i) => runFanout(target, opts, i));
  if (s.has("ramp")) out.ramp = await repeated(`${target.name}: (b') fan-out ramp`, opts, (i) => runRamp(target, opts, i));
  if (s.has("direct")) out.direct = await repeated(`${target.name}: (c) 1-1`, opts, (i) => runDirect(target, opts, i));
}

async function start(name: StackName): Promise<BenchTarget | ParleyTarget | { error: string }> {
  switch (name) {
    case "socketio":
      return step("socketio: start", () => startSocketIo({ instances: 1, redisUrl: o.redisUrl, adapter: "none" }));
    case "socketio-redis":
      return step("socketio-redis: start", () => startSocketIo({ instances: o.socketIoInstances, redisUrl: o.redisUrl, adapter: "redis" }));
    case "uws":
      return step("uws: start", () => startSocketIo({ instances: 1, redisUrl: o.redisUrl, adapter: "uws" }));
    case "parley":
      return step("parley: start", () => startParley(o, "backends"));
    case "parley-split":
      return step("parley-split: start", () => startParley(o, "split"));
    case "parley-embedded":
      return step("parley-embedded: start", () => startParley(o, "embedded"));
    case "parley-cluster":
      return step("parley-cluster: start", () => startParleyCluster(o));
  }
}

const DESCRIPTIONS: Record<"socketio" | "socketio-redis" | "uws", string> = {
  uws: "raw uWebSockets.js pub/sub in one process (src/uws-server.ts): a room broadcast and nothing else, speaking the Socket.IO subset the light client uses — the floor of WebSocket fan-out on this machine, not a chat server",
  socketio: "socket.io 4, one process, in-memory adapter (websocket transport only, no compression); one room per conversation; nothing persisted",
  "socketio-redis": `socket.io 4, ${o.socketIoInstances} processes joined by @socket.io/redis-adapter on local Redis (websocket transport only, no compression); one room per conversation; nothing persisted`,
};

const report: BenchReport = {
  startedAt: new Date().toISOString(),
  finishedAt: "",
  label,
  machine: machineInfo(loadavg()),
  options: { ...o, scenarios: [...o.scenarios] },
  results: {},
  notes: [
    "Socket.IO persists nothing and keeps nothing for disconnected clients (a room broadcast, through the Redis adapter where there is one, and no more); Parley writes every message to Postgres in a transaction with its outbox row, publishes it on the bus, tracks acks and redelivers. The comparison favours Socket.IO on purpose.",
    o.client === "light"
      ? "Light clients: Parley = plain `ws` + the realtime protocol (Hello after Welcome, BinaryReader walk for delivery_id and message text only, one Ack frame per socket per 50 ms or 256 ids), sends as plain keep-alive HTTP POSTs (Connect JSON); Socket.IO = plain `ws` + Engine.IO v4 / Socket.IO v5 framing (pong to pings, body cut out of `42[\"msg\",…]` without JSON.parse). Both dedupe by the payload key in the worker."
      : "Real SDK client profile: each Parley socket is the SDK's RealtimeClient (full protobuf decode, ordered streams, dedupe) and sends through the SDK's Connect client; each Socket.IO socket is socket.io-client. These figures include the client libraries' cost.",
    "Latency: send call → payload seen by the receiving client, clocks from performance.timeOrigin+now() on one machine. Send → last member: until the last connected member has it.",
    "CPU: /proc utime+stime over the window send start → drain end (connect + idle for (a)). Stack CPU = server processes + the backends the stack uses (Postgres backends incl. exited ones via the postmaster's cutime, nats-server, redis-server), whole processes: other load on the same Postgres/NATS/Redis is counted too.",
    "Clients are spread over worker processes (--sockets-per-worker, fan-out at least 2) bound to 127.0.0.2… (--local-addresses); the fan-out sender is the runner process (one keep-alive HTTP connection for Parley, one light socket for Socket.IO).",
    "Parley tokens are minted by the bench with the server's own signing key (it passes JWT_PRIVATE_JWK to the server); users that need friendships (1-1) are registered and e-mail-verified through the API.",
    "Idle memory: the server runs with --expose-gc; after 50 warm-up sockets came and went, RSS is read after full GCs once it has held still (±max(256 KiB, 0.5%)) for 10 s (at most 30 s), then N sockets connect and idle, and RSS is read the same way; (after − before) / N. Small N is dominated by noise of a few MiB.",
  ],
};

for (const name of o.targets) {
  const out: TargetResults = { description: "", capacity: [], fanout: [], ramp: [], direct: [] };
  report.results[name] = out;
  const started = await start(name);
  if ("error" in started) {
    out.description = `failed to start: ${started.error}`;
    continue;
  }
  out.description = "description" in started ? started.description : DESCRIPTIONS[name as "socketio" | "socketio-redis" | "uws"];
  try {
    await runAll(started, o, out);
    const history = "history" in started ? started.history : undefined;
    if (o.scenarios.has("history") && history && name === "parley") {
      out.history = await step("parley: (d) history", () => history(o));
    }
  } finally {
    await started.stop();
  }
}

report.finishedAt = new Date().toISOString();
const files = writeReport(report, o.resultsDir);
console.log(`\n${readFileSync(files.md, "utf8")}`);
log(`wrote ${files.md} and ${files.json}`);
process.exit(0);
