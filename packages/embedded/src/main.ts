/**
 * `make dev`: the whole product in one process. Ctrl-C / SIGTERM drains the
 * WebSocket edge (clients are told to reconnect) and exits.
 */
import { ConfigError, type PlatformConfig } from "@parley/platform";
import { startEmbedded } from "./index.js";

try {
  const parley = await startEmbedded({ host: process.env.HOST ?? "0.0.0.0" });
  const backends = [
    process.env.DATABASE_URL ? "Postgres" : `PGlite (${process.env.DATA_DIR ?? "./data"})`,
    process.env.NATS_URL ? "NATS JetStream" : "in-process bus",
    process.env.REDIS_URL ? "Redis" : "in-memory presence",
  ].join(", ");
  process.stdout.write(
    `\n  Parley is running on ${backends}\n` +
      `  Web app + API:  ${parley.apiUrl}\n` +
      `  WebSocket:      ${parley.wsUrl}\n` +
      `  Health:         ${parley.adminUrl}/readyz   Metrics: ${parley.adminUrl}/metrics\n` +
      mailLine(parley.deps.config) +
      "\n",
  );
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await parley.close();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
  throw err;
}

function mailLine(config: PlatformConfig): string {
  if (!config.emailVerification) return "  Email:          verification OFF (EMAIL_VERIFICATION=off): accounts are verified on register\n";
  if (config.smtpUrl) return "  Email:          SMTP\n";
  return "  Email:          dev mailbox (DEV_MAILBOX=true): anyone who reaches this server can read it\n";
}
