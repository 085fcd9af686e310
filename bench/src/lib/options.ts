/**
 * Bench sizes and switches. Every size is a flag (`--fanout-members=1000`) or the matching env
 * var (BENCH_FANOUT_MEMBERS=1000); the flag wins. Defaults are the quick run (~2 minutes);
 * `--full` switches to the sizes of docs/architecture.md §4.
 */
import type { ClientProfile } from "./protocol.js";
import { STACK_NAMES, type StackName } from "./target.js";

export type ScenarioName = "capacity" | "fanout" | "ramp" | "direct" | "history";
const SCENARIOS: readonly ScenarioName[] = ["capacity", "fanout", "ramp", "direct", "history"];

export interface BenchOptions {
  mode: "quick" | "full";
  scenarios: Set<ScenarioName>;
  targets: StackName[];
  /** Client profile for every server-bound scenario (protocol.ts). */
  client: ClientProfile;
  /** Each scenario runs this many times per stack; reports show medians. */
  repeat: number;
  /** Fan-out rates (msg/s) tried by the ramp, lowest first; it stops at the first over budget. */
  rampRates: number[];
  rampSeconds: number;
  /** The ramp's latency budget: p99 send → last member under this. */
  p99BudgetMs: number;
  capacitySockets: number;
  /**
   * Idle time before each capacity reading (after the warm-up, after the N sockets connected).
   * Connect-time garbage (the RPCs, bus and store calls each open makes) often survives forced
   * major GCs for tens of seconds in Node 20, so a short idle partly measures the connect burst.
   */
  capacityIdleSeconds: number;
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
  /** Another checkout whose Parley (packages/embedded) the parley stacks run; "" = this one. */
  parleyRoot: string;
  /** parley-cluster: processes per service (realtime = edge nodes), `--cluster-replicas=chat=2,identity=2,notification=2,realtime=2`. */
  clusterReplicas: Record<ClusterService, number>;
}

export type ClusterService = "identity" | "chat" | "notification" | "realtime";
const CLUSTER_SERVICES: readonly ClusterService[] = ["identity", "chat", "notification", "realtime"];

/** "chat=2,realtime=3" → every service's count (2 where not named, as `make cluster`). */
export function parseClusterReplicas(spec: string): Record<ClusterService, number> {
  const out: Record<ClusterService, number> = { identity: 2, chat: 2, notification: 2, realtime: 2 };
  for (const part of spec.split(",").filter(Boolean)) {
    const [name, count] = part.split("=");
    const svc = CLUSTER_SERVICES.find((x) => x === name);
    const k = Number(count);
    if (!svc || !Number.isInteger(k) || k <= 0) throw new Error(`--cluster-replicas: "${part}" is not <${CLUSTER_SERVICES.join("|")}>=<positive integer>`);
    out[svc] = k;
  }
  return out;
}

/** What runs when --targets is not given: every stack but parley-cluster (it needs `pnpm build` and nginx; opt in by name). */
export const DEFAULT_TARGETS: readonly StackName[] = STACK_NAMES.filter((x) => x !== "parley-cluster");

const QUICK = {
  capacitySockets: 1000,
  capacityIdleSeconds: 3,
  fanoutMembers: 200,
  fanoutRate: 100,
  fanoutSeconds: 5,
  directPairs: 50,
  directRate: 300,
  directSeconds: 5,
  historyMessages: 200_000,
  historyConversations: 2_000,
  historySamples: 200,
  repeat: 1,
  rampSeconds: 3,
};
const FULL: typeof QUICK = {
  capacitySockets: 19_000,
  capacityIdleSeconds: 3,
  fanoutMembers: 1000,
  fanoutRate: 100,
  fanoutSeconds: 30,
  directPairs: 500,
  directRate: 2000,
  directSeconds: 30,
  historyMessages: 1_000_000,
  historyConversations: 20_000,
  historySamples: 1000,
  repeat: 3,
  rampSeconds: 8,
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
    const m = /^--([a-z0-9-]+)(?:=(.*))?$/.exec(a);
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
  const scenarioNames = pick("only", SCENARIOS.join(",")).split(",");
  const scenarios = new Set<ScenarioName>();
  for (const s of scenarioNames) {
    const known = SCENARIOS.find((x) => x === s);
    if (!known) throw new Error(`unknown scenario ${s} (known: ${SCENARIOS.join(", ")})`);
    scenarios.add(known);
  }
  const targets = pick("targets", DEFAULT_TARGETS.join(",")).split(",").map((t) => {
    const known = STACK_NAMES.find((x) => x === t);
    if (!known) throw new Error(`unknown target ${t} (known: ${STACK_NAMES.join(", ")})`);
    return known;
  });
  const client = pick("client", "light");
  if (client !== "light" && client !== "sdk") throw new Error("--client must be light or sdk");
  const rampRates = pick("ramp-rates", "50,100,200,400,800,1600,3200")
    .split(",")
    .map(Number)
    .sort((a, b) => a - b);
  if (rampRates.some((r) => !Number.isFinite(r) || r <= 0)) throw new Error("--ramp-rates must be positive numbers");
  const backends = pick("parley-backends", "real");
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
    client,
    rampRates,
    p99BudgetMs: int("p99-budget-ms", 100),
    ...sizes,
    socketsPerWorker: int("sockets-per-worker", 5000),
    localAddresses: int("local-addresses", 4),
    connectConcurrency: int("connect-concurrency", 200),
    socketIoInstances: int("socket-io-instances", 2),
    parleyBackends: backends,
    postgresUrl: pick("postgres-url", "postgres://postgres@127.0.0.1:5432/postgres"),
    natsUrl: pick("nats-url", "nats://127.0.0.1:4222"),
    redisUrl: pick("redis-url", "redis://127.0.0.1:6379"),
    parleyRoot: pick("parley-root", ""),
    clusterReplicas: parseClusterReplicas(pick("cluster-replicas", "")),
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
