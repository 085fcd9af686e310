/**
 * make cluster       → node --import tsx scripts/cluster/cli.ts up
 * make cluster-down  → node --import tsx scripts/cluster/cli.ts down
 * Settings: PARLEY_CLUSTER_PORT (nginx, default 8090), PARLEY_CLUSTER_DIR (state, default .cluster),
 * SMTP_URL (verification mail; without it accounts are verified on register).
 */
import { join } from "node:path";
import { repoRoot, startCluster, stopCluster } from "./index.js";

const stateDir = process.env.PARLEY_CLUSTER_DIR ?? join(repoRoot, ".cluster");
const command = process.argv[2];

try {
  if (command === "up") {
    const port = process.env.PARLEY_CLUSTER_PORT ? Number(process.env.PARLEY_CLUSTER_PORT) : undefined;
    const cluster = await startCluster({ stateDir, ...(port !== undefined ? { port } : {}), ...(process.env.SMTP_URL ? { smtpUrl: process.env.SMTP_URL } : {}) });
    const rows = cluster.processes().map((p) => `    ${p.name.padEnd(15)} pid ${String(p.pid).padEnd(8)} :${p.port}${p.wsPort ? ` ws :${p.wsPort}` : ""}  admin :${p.adminPort}`);
    process.stdout.write(
      `\n  Parley cluster (compiled build, Postgres/NATS/Redis on 127.0.0.1) behind nginx:\n\n` +
        `    ${cluster.url}\n\n` +
        `  (web client, /config.json, every API, WebSocket ${cluster.wsUrl})\n` +
        `${rows.join("\n")}\n` +
        `  Logs: ${join(stateDir, "logs")}/, nginx: ${join(stateDir, "nginx")}/   Stop: make cluster-down\n\n`,
    );
  } else if (command === "down") {
    const stopped = await stopCluster(stateDir);
    process.stdout.write(stopped ? `cluster: stopped everything started from ${stateDir}\n` : `cluster: nothing running from ${stateDir}\n`);
  } else {
    process.stderr.write("usage: cli.ts up | down\n");
    process.exit(64);
  }
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
