/**
 * notification: the per-user notification feed (from identity's and chat's
 * events) and outgoing mail. See README.md for what it owns and why.
 */
import { fileURLToPath } from "node:url";
import type { ConnectRouter } from "@connectrpc/connect";
import { startOutboxRelay, type Logger, type OutboxRelay, type PlatformDeps, type ServiceModule, type Subscription } from "@parley/platform";
import { startFeedConsumer } from "./events/feed-consumer.js";
import { startMailerConsumer } from "./events/mailer-consumer.js";
import { routeDevMailboxService } from "./handlers/dev-mailbox-service.js";
import { routeNotificationService } from "./handlers/notification-service.js";
import { DevMailbox } from "./mail/dev-mailbox.js";
import type { Mailer } from "./mail/mailer.js";
import { createSmtpMailer } from "./mail/smtp-mailer.js";
import { outbox } from "./store/schema.js";

const SCHEMA = "notification";
const migrationsFolder = fileURLToPath(new URL("../drizzle", import.meta.url));

export async function createNotificationService(deps: PlatformDeps): Promise<ServiceModule> {
  const logger = deps.logger.child({ svc: SCHEMA });
  const { mailer, devMailbox } = chooseMailer(deps, logger);

  let running: Array<Subscription | { stop(): Promise<void> }> = [];
  let relay: OutboxRelay | undefined;

  return {
    name: SCHEMA,
    routes(router: ConnectRouter): void {
      routeNotificationService(router, deps.database.db);
      if (devMailbox) routeDevMailboxService(router, devMailbox);
    },
    async start(): Promise<void> {
      await deps.database.migrate({ migrationsFolder, schema: SCHEMA });
      relay = startOutboxRelay({ database: deps.database, bus: deps.bus, outbox, schemaName: SCHEMA, logger, metrics: deps.metrics });
      running = [relay, await startFeedConsumer(deps, logger), await startMailerConsumer(deps, mailer, logger)];
    },
    async stop(): Promise<void> {
      // Consumers first, so nothing enqueues after the relay is gone.
      const stopping = running.reverse();
      running = [];
      for (const s of stopping) await s.stop();
      relay = undefined;
      mailer.close();
    },
    async degraded(): Promise<string | undefined> {
      return relay?.degraded();
    },
  };
}

/** Read once at creation: with SMTP configured the dev mailbox does not exist at all (nor its RPC). */
function chooseMailer(deps: PlatformDeps, logger: Logger): { mailer: Mailer; devMailbox?: DevMailbox } {
  if (deps.config.smtpUrl) return { mailer: createSmtpMailer(deps.config.smtpUrl, deps.config.mailFrom, logger) };
  const devMailbox = new DevMailbox(logger);
  return { mailer: devMailbox, devMailbox };
}
