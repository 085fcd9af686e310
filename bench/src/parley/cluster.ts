/**
 * The `parley-cluster` target: `make cluster` (scripts/cluster) as the bench's stack. Identity,
 * chat and notification run `--cluster-replicas` processes each and the realtime edge that many
 * nodes, all from the compiled build (dist/, so `pnpm build` first), behind Debian's nginx at one
 * URL, on a scratch database and their own bus namespace / Redis prefix on this machine's
 * Postgres, NATS JetStream and Redis. Clients connect to nginx's /ws (least_conn over the edges)
 * and send through nginx's API routes, as a browser does in Kubernetes.
 *
 * Server CPU = every cluster process (role = its name: identity-1, chat-2, edge-a, …) + nginx
 * (master and worker). The processes are not the bench's children, so there is no GC over IPC:
 * the idle-sockets scenario (a), which reads RSS after GC, is refused for this target.
 */
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startCluster, type Cluster } from "../../../scripts/cluster/index.js";
import type { Backend } from "../lib/cpu.js";
import type { BenchOptions } from "../lib/options.js";
import type { ServerProcess } from "../lib/target.js";
import { newRunId, parleyApi, TOKEN_TTL_SEC } from "./api.js";
import { scratchDatabase } from "./seed.js";
import type { ParleyTarget } from "./stack.js";

/** Children of `parent` (nginx's workers), from /proc. */
function childPids(parent: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === parent) out.push(Number(d));
    } catch {
      // gone in between
    }
  }
  return out;
}

export async function startParleyCluster(o: BenchOptions): Promise<ParleyTarget> {
  const runId = newRunId();
  const dbName = `parley_bench_${runId}`;
  const databaseUrl = await scratchDatabase(o.postgresUrl, dbName, "create");
  const stateDir = join(tmpdir(), `parley-bench-cluster-${runId}`);
  let cluster: Cluster | undefined;
  const cleanup = async () => {
    await cluster?.stopAll(20_000);
    await scratchDatabase(o.postgresUrl, dbName, "drop").catch((err: unknown) => console.error(`could not drop ${dbName}:`, err));
    rmSync(stateDir, { recursive: true, force: true });
  };
  try {
    cluster = await startCluster({
      stateDir,
      port: 0,
      replicas: o.clusterReplicas,
      databaseUrl,
      natsUrl: o.natsUrl,
      redisUrl: o.redisUrl,
      namespace: `bench_${runId}`,
      // startCluster already sets NODE_ENV=production, EMAIL_VERIFICATION=off (no SMTP URL given),
      // TRUST_PROXY=1 and SHUTDOWN_DELAY=0; these are the bench's own, as in stack.ts.
      env: {
        // Every client is one IP behind nginx making thousands of calls; limits are not measured.
        RATE_LIMIT_SCALE: "1000000",
        LOG_LEVEL: "warn",
        EMAIL_VERIFICATION: "off",
        ACCESS_TOKEN_TTL: String(TOKEN_TTL_SEC),
      },
      log: (line) => console.log(line),
    });
  } catch (err) {
    await cleanup();
    throw err;
  }
  const c = cluster;
  // Identity signs with the key startCluster generated into the state directory; the bench mints with it too.
  const { jwk } = JSON.parse(readFileSync(join(stateDir, "secrets.json"), "utf8")) as { jwk: string };
  const api = await parleyApi({ apiUrl: c.url, jwk, runId });
  const procs = c.processes();
  const edges = procs.filter((p) => p.service === "realtime");
  const servers: ServerProcess[] = [
    ...procs.map((p) => ({ pid: p.pid, role: p.name })),
    { pid: c.nginxPid, role: "nginx" },
    ...childPids(c.nginxPid).map((pid) => ({ pid, role: "nginx" })),
  ];
  const backends: Backend[] = ["postgres", "nats", "redis"];
  const r = o.clusterReplicas;
  return {
    name: "parley-cluster",
    driver: "parley",
    description:
      `make cluster (scripts/cluster): identity ×${r.identity}, chat ×${r.chat}, notification ×${r.notification}, realtime edge ×${r.realtime}, ` +
      "each a process of its own from the compiled build (dist/), behind nginx (1 worker; clients connect to its /ws, least_conn over the edges, and send through its API routes), " +
      "on real Postgres, NATS JetStream and Redis; server CPU = every cluster process + nginx; no idle-memory scenario (no GC over IPC)",
    apiUrl: c.url,
    // One URL per edge node, all nginx's: the scenarios spread clients over edgeUrls and report their
    // count as edge nodes; nginx's least_conn puts each socket on the node with the fewest.
    edgeUrls: edges.map(() => c.wsUrl),
    edgePids: edges.map((p) => p.pid),
    servers,
    backends,
    gcRss: () => Promise.reject(new Error("parley-cluster: the cluster's processes are not the bench's children, so there is no GC over IPC; scenario (a) is measured on parley-split")),
    users: api.users,
    group: api.group,
    directs: api.directs,
    stop: cleanup,
  };
}
