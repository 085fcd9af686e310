/**
 * Bench sizes and switches. Every size is a flag (`--fanout-members=1000`) or the matching env
 * var (BENCH_FANOUT_MEMBERS=1000); the flag wins. Defaults are the quick run (~2 minutes);
 * `--full` switches to the sizes of docs/architecture.md §4.
 */
import type { Target } from "./protocol.js";

export type ScenarioName = "capacity" | "fanout" | "direct" | "history";

export interface BenchOptions {
  mode: "quick" | "full";
  scenarios: Set<ScenarioName>;
  targets: Target[];
  capacitySockets: number;
  fanoutMembers: number;
  fanoutRate: number;
  fanoutSeconds: number;
  directPairs: number;
  directRate: number;
  directSeconds: number;
  historyMessages: number;
  historyConversations: number;
  historySamples: number;
  /** Clients per worker process: each socket is an fd, and a process may hold 20,000. */
  socketsPerWorker: number;
  /** How many 127.0.0.x source addresses clients spread over. */
  localAddresses: number;
  connectConcurrency: number;
  socketIoInstances: number;
  /** Parley backends: "postgres" = embedded process on real Postgres; "real" = + NATS + Redis. */
  parleyBackends: "postgres" | "real";
  postgresUrl: string;
  natsUrl: string;
  redisUrl: string;
  resultsDir: string;
}

const QUICK = {
  capacitySockets: 2000,
  fanoutMembers: 200,
  fanoutRate: 100,
  fanoutSeconds: 5,
  directPairs: 50,
  directRate: 300,
  directSeconds: 5,
  historyMessages: 200_000,
  historyConversations: 2_000,
  historySamples: 200,
};
const FULL: typeof QUICK = {
  capacitySockets: 19_000,
  fanoutMembers: 1000,
  fanoutRate: 100,
  fanoutSeconds: 30,
  directPairs: 500,
  directRate: 2000,
  directSeconds: 30,
  historyMessages: 1_000_000,
  historyConversations: 20_000,
  historySamples: 1000,
};

function flagName(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}
function envName(key: string): string {
  return `BENCH_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

export function parseOptions(argv: string[], env: Record<string, string | undefined>): BenchOptions {
  const flags = new Map<string, string>();
  for (const a of argv) {
    if (a === "--") continue;
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a);
    if (!m?.[1]) throw new Error(`unknown argument ${a}`);
    flags.set(m[1], m[2] ?? "true");
  }
  const mode = flags.has("full") ? "full" : "quick";
  const sizes = { ...(mode === "full" ? FULL : QUICK) };
  for (const key of Object.keys(sizes) as Array<keyof typeof sizes>) {
    const raw = flags.get(flagName(key)) ?? env[envName(key)];
    if (raw === undefined) continue;
    const n = Number(raw);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${flagName(key)} / ${envName(key)} must be a positive number, got ${raw}`);
    sizes[key] = n;
  }
  // --some-flag ↔ BENCH_SOME_FLAG
  const pick = (name: string, fallback: string) => flags.get(name) ?? env[`BENCH_${name.toUpperCase().replace(/-/g, "_")}`] ?? fallback;
  const scenarioNames = pick("only", "capacity,fanout,direct,history").split(",");
  const scenarios = new Set<ScenarioName>();
  for (const s of scenarioNames) {
    if (s !== "capacity" && s !== "fanout" && s !== "direct" && s !== "history") throw new Error(`unknown scenario ${s}`);
    scenarios.add(s);
  }
  const targets = pick("targets", "parley,socketio").split(",").map((t) => {
    if (t !== "parley" && t !== "socketio") throw new Error(`unknown target ${t}`);
    return t;
  });
  const backends = pick("parley-backends", "postgres");
  if (backends !== "postgres" && backends !== "real") throw new Error("--parley-backends must be postgres or real");
  const int = (name: string, fallback: number) => {
    const n = Number(pick(name, String(fallback)));
    if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer`);
    return n;
  };
  return {
    mode,
    scenarios,
    targets,
    ...sizes,
    socketsPerWorker: int("sockets-per-worker", 5000),
    localAddresses: int("local-addresses", 4),
    connectConcurrency: int("connect-concurrency", 200),
    socketIoInstances: int("socket-io-instances", 2),
    parleyBackends: backends,
    postgresUrl: pick("postgres-url", "postgres://postgres@127.0.0.1:5432/postgres"),
    natsUrl: pick("nats-url", "nats://127.0.0.1:4222"),
    redisUrl: pick("redis-url", "redis://127.0.0.1:6379"),
    resultsDir: pick("results-dir", new URL("../../results", import.meta.url).pathname),
  };
}

/** Only loopback: the bench must never send traffic anywhere else. */
export function assertLoopback(url: string): void {
  const host = new URL(url).hostname;
  if (!(host === "localhost" || host === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(host))) {
    throw new Error(`refusing to benchmark ${url}: only 127.0.0.0/8 and localhost are allowed`);
  }
}
