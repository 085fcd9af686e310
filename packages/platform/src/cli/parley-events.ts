/**
 * Entry point of `parley-events` (see events-commands.ts for the commands).
 * Reads the same environment as the services (NATS_URL, BUS_NAMESPACE,
 * DATABASE_URL), so in a container:
 *   node dist/parley-events.js dlq list            (bundled by `pnpm build`)
 * and in a checkout: `pnpm parley-events dlq list`.
 */
import { createJetStreamBus } from "../bus/jetstream.js";
import { loadConfig } from "../config.js";
import { openDatabase } from "../db.js";
import { createLogger } from "../logger.js";
import type { DatabaseHandle, EventBus } from "../types.js";
import { runEventsCommand, UsageError, USAGE } from "./events-commands.js";

async function main(args: string[]): Promise<number> {
  const config = loadConfig();
  const logger = createLogger(process.env.LOG_LEVEL ?? "warn", { tool: "parley-events" });
  let bus: EventBus | undefined;
  let database: DatabaseHandle | undefined;
  try {
    if (args[0] === "dlq") {
      // The in-process bus's queue lives inside the embedded process; only a shared broker can be reached from here.
      if (!config.natsUrl) throw new UsageError("dlq commands need NATS_URL (embedded mode keeps its dead letters in the process: use bus.deadLetters)");
      // Connecting brings the streams to this config: the services' replica count, or an operator's
      // `dlq list` would scale the production streams down to one replica.
      bus = await createJetStreamBus({
        natsUrl: config.natsUrl,
        logger,
        security: config.nats,
        streamReplicas: config.natsStreamReplicas,
        ...(config.busNamespace ? { namespace: config.busNamespace } : {}),
      });
    }
    if (args[0] === "outbox") {
      if (!config.databaseUrl) throw new UsageError("outbox commands need DATABASE_URL");
      database = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir, logger });
    }
    await runEventsCommand(args, { ...(bus ? { bus } : {}), ...(database ? { db: database.db } : {}), print: (line) => process.stdout.write(`${line}\n`) });
    return 0;
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    if (err instanceof UsageError && !err.message.startsWith("usage")) process.stderr.write(`${USAGE}\n`);
    return err instanceof UsageError ? 64 : 1;
  } finally {
    await bus?.close();
    await database?.close();
  }
}

process.exitCode = await main(process.argv.slice(2));
