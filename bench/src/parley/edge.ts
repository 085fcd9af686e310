/**
 * The realtime edge as its own process for the `parley-split` target: services/realtime's own
 * entrypoint (CHAT_URL, IDENTITY_URL, JWKS_URL, WS_PORT, ADMIN_PORT from the env), plus the
 * bench's GC request handler for the idle-memory reading. BENCH_PARLEY_ROOT runs another
 * checkout's edge, as server.ts does.
 */
import { fileURLToPath, pathToFileURL } from "node:url";
import { join } from "node:path";
import { serveGcRequests } from "../lib/proc.js";

serveGcRequests();
// The runner gone (crashed, killed): drain and exit like on a stop, never linger.
process.on("disconnect", () => process.kill(process.pid, "SIGTERM"));
const root = process.env.BENCH_PARLEY_ROOT ?? fileURLToPath(new URL("../../..", import.meta.url));
await import(pathToFileURL(join(root, "services/realtime/src/main.ts")).href);
