/**
 * Parley under test as its own process (so its RSS and fds are its own): every service in one
 * process via @parley/embedded, on whatever backends the env names (DATABASE_URL, NATS_URL,
 * REDIS_URL). Sends { t: "listening", apiUrl, wsUrl } over IPC when ready. With
 * BENCH_PARLEY_EDGE=apart it holds every service but the realtime edge, which edge.ts runs.
 *
 * BENCH_PARLEY_ROOT=<checkout>: runs that checkout's @parley/embedded instead of this one's (its
 * own dependencies, installed there), so one bench drives a "before" and an "after" tree.
 */
import { pathToFileURL } from "node:url";
import { join } from "node:path";
import { serveGcRequests } from "../lib/proc.js";

type Embedded = typeof import("@parley/embedded");
const root = process.env.BENCH_PARLEY_ROOT;
const mod: Embedded = root
  ? ((await import(pathToFileURL(join(root, "packages/embedded/src/index.ts")).href)) as Embedded)
  : await import("@parley/embedded");

// BENCH_PARLEY_EDGE=apart: the realtime edge is another process (edge.ts), as in Kubernetes.
const parley = await mod.startEmbedded({ port: 0, wsPort: 0, host: "127.0.0.1", realtime: process.env.BENCH_PARLEY_EDGE !== "apart" });
process.send?.({ t: "listening", apiUrl: parley.apiUrl, wsUrl: parley.wsUrl });
// The idle-memory reading (scenario a) collects garbage here first: the server runs with --expose-gc.
serveGcRequests();

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  // Bounded: a stuck drain must not keep the bench alive.
  setTimeout(() => process.exit(0), 15_000).unref();
  await parley.close();
  process.exit(0);
};
process.on("SIGTERM", () => void stop());
process.on("disconnect", () => void stop());
