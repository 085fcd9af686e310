/**
 * Starts Parley for the bench: the embedded process on a scratch Postgres database (and, with
 * --parley-backends=real, NATS JetStream and Redis); users, the group and the 1-1 conversations
 * are set up through the public API (api.ts, shared with the cluster target).
 */
import { generateKeyPairSync } from "node:crypto";
import { createServer } from "node:net";
import { sleep } from "../lib/clock.js";
import type { BenchOptions } from "../lib/options.js";
import { forkTs, gcRss, type Child } from "../lib/proc.js";
import type { Backend } from "../lib/cpu.js";
import type { BenchTarget } from "../lib/target.js";
import { measureHistory, type HistoryResult } from "../scenarios/history.js";
import { newRunId, parleyApi, TOKEN_TTL_SEC } from "./api.js";
import { scratchDatabase, seedHistory } from "./seed.js";

type ServerMsg = { t: "listening"; apiUrl: string; wsUrl: string } | { t: "rss"; bytes: number };
const isListening = (m: ServerMsg): m is Extract<ServerMsg, { t: "listening" }> => m.t === "listening";

export interface ParleyTarget extends BenchTarget {
  description: string;
  history?(o: BenchOptions): Promise<HistoryResult>;
}

/**
 * variant "backends": the embedded process on --parley-backends (real Postgres, plus NATS and
 * Redis with "real"); "split": the same, but the realtime edge is a process of its own (the
 * Kubernetes shape: socket writes on their own core, the API's event loop free of them);
 * "embedded": no backends at all (PGlite in memory, in-process bus, memory stores), as `make dev`
 * runs it.
 */
export async function startParley(o: BenchOptions, variant: "backends" | "split" | "embedded"): Promise<ParleyTarget> {
  const runId = newRunId();
  const dbName = `parley_bench_${runId}`;
  const databaseUrl = variant !== "embedded" ? await scratchDatabase(o.postgresUrl, dbName, "create") : undefined;
  const { privateKey } = generateKeyPairSync("ed25519");
  const jwk = JSON.stringify(privateKey.export({ format: "jwk" }));
  const env: Record<string, string> = {
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    DATA_DIR: "memory",
    JWT_PRIVATE_JWK: jwk,
    ACCESS_TOKEN_TTL: String(TOKEN_TTL_SEC),
    // The bench is one client IP making thousands of calls; limits are not what it measures.
    RATE_LIMIT_SCALE: "1000000",
    LOG_LEVEL: "warn",
    NODE_ENV: "production",
    // Production refuses the dev mailbox and needs SMTP otherwise; the bench measures chat, not mail.
    EMAIL_VERIFICATION: "off",
    // The admin listener (probes, metrics) is not measured; a free port keeps runs from colliding.
    ADMIN_PORT: "0",
    ...(o.parleyRoot ? { BENCH_PARLEY_ROOT: o.parleyRoot } : {}),
  };
  const backends: Backend[] = variant === "embedded" ? [] : o.parleyBackends === "real" ? ["postgres", "nats", "redis"] : ["postgres"];
  if (variant !== "embedded" && o.parleyBackends === "real") {
    env.NATS_URL = o.natsUrl;
    env.REDIS_URL = o.redisUrl;
    env.BUS_NAMESPACE = `bench_${runId}`;
    env.REDIS_KEY_PREFIX = `bench:${runId}:`;
  }
  if (variant === "split") env.BENCH_PARLEY_EDGE = "apart";
  const child = forkTs<ServerMsg>(new URL("./server.ts", import.meta.url), env, [], ["--expose-gc"]);
  const listening = await child.next(isListening, 120_000, "parley start");
  const apiUrl = listening.apiUrl;
  const edge = variant === "split" ? await startEdgeApart(env, apiUrl) : undefined;
  const wsUrl = edge?.wsUrl ?? listening.wsUrl;
  const edgeChild = edge?.child ?? child;
  const api = await parleyApi({ apiUrl, jwk, runId });
  return {
    name: variant === "embedded" ? "parley-embedded" : variant === "split" ? "parley-split" : "parley",
    driver: "parley",
    description:
      (variant === "embedded"
        ? "embedded, no backends (PGlite in memory, in-process bus, memory stores; all services and one realtime edge node in one process)"
        : (variant === "split"
            ? "identity, chat and notification in one process, the realtime edge (one node) in another, on real Postgres"
            : "all services in one process (one realtime edge node) on real Postgres") +
          (o.parleyBackends === "real" ? ", NATS JetStream and Redis" : ", in-process bus and in-memory presence")) +
      "; messages are persisted, sequenced, published via the outbox, acked by the client and redelivered until acked" +
      (o.parleyRoot ? ` (Parley code from ${o.parleyRoot})` : ""),
    apiUrl,
    edgeUrls: [wsUrl],
    edgePids: [edgeChild.pid],
    servers: [{ pid: child.pid, role: "parley" }, ...(edge ? [{ pid: edge.child.pid, role: "edge" }] : [])],
    backends,
    gcRss: () => gcRss(edgeChild),
    users: api.users,
    group: api.group,
    directs: api.directs,
    async history(opts) {
      if (!databaseUrl) throw new Error("history needs real Postgres (not run on parley-embedded)");
      const reader = await api.mintUser();
      const seed = await seedHistory(databaseUrl, reader.userId, opts.historyMessages, opts.historyConversations);
      return measureHistory(api.client(reader.token), seed, {
        messages: opts.historyMessages,
        conversations: opts.historyConversations,
        samples: opts.historySamples,
      });
    },
    async stop() {
      await edge?.child.stop(20_000);
      await child.stop(20_000);
      if (databaseUrl) await scratchDatabase(o.postgresUrl, dbName, "drop").catch((err: unknown) => console.error(`could not drop ${dbName}:`, err));
    },
  };
}

/** The realtime edge apart (edge.ts): it verifies tokens by the API's JWKS and calls chat and identity there. */
async function startEdgeApart(env: Record<string, string>, apiUrl: string): Promise<{ child: Child<ServerMsg>; wsUrl: string }> {
  const [wsPort, adminPort, httpPort] = [await freePort(), await freePort(), await freePort()];
  const { JWT_PRIVATE_JWK: _signingKeyStaysWithIdentity, ...shared } = env;
  const child = forkTs<ServerMsg>(
    new URL("./edge.ts", import.meta.url),
    {
      ...shared,
      NODE_ID: "bench-edge",
      CHAT_URL: apiUrl,
      IDENTITY_URL: apiUrl,
      JWKS_URL: `${apiUrl}/.well-known/jwks.json`,
      PUBLIC_URL: apiUrl,
      PORT: String(httpPort),
      WS_PORT: String(wsPort),
      ADMIN_PORT: String(adminPort),
      SHUTDOWN_DELAY: "0",
    },
    [],
    ["--expose-gc"],
  );
  const ready = `http://127.0.0.1:${adminPort}/readyz`;
  for (let attempt = 0; ; attempt++) {
    const ok = await fetch(ready).then((r) => r.ok, () => false);
    if (ok) break;
    if (attempt >= 600) {
      await child.stop(5_000);
      throw new Error(`the realtime edge apart was not ready at ${ready} within 60 s`);
    }
    await sleep(100);
  }
  return { child, wsUrl: `ws://127.0.0.1:${wsPort}/ws` };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      const port = typeof address === "object" && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}
