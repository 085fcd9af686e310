/**
 * Parley under test as its own process (so its RSS and fds are its own): every service in one
 * process via @parley/embedded, on whatever backends the env names (DATABASE_URL, NATS_URL,
 * REDIS_URL). Sends { t: "listening", apiUrl, wsUrl } over IPC when ready.
 */
import { startEmbedded } from "@parley/embedded";
import { serveGcRequests } from "../lib/proc.js";

const parley = await startEmbedded({ port: 0, wsPort: 0, host: "127.0.0.1" });
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
