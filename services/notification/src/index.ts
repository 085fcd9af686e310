/**
 * notification: the per-user notification feed (from identity's and chat's
 * events) and outgoing mail. See README.md for what it owns and why.
 */
import { fileURLToPath } from "node:url";
import type { ConnectRouter } from "@connectrpc/connect";
import {
  ConfigError,
  startOutboxRelay,
  startRetention,
  verificationTokenKey,
  type Logger,
  type OutboxRelay,
  type PlatformDeps,
  type ServiceModule,
  type Subscription,
} from "@parley/platform";
import { startFeedConsumer } from "./events/feed-consumer.js";
import { startMailerConsumer } from "./events/mailer-consumer.js";
import { startPresenceView } from "./events/presence-view.js";
import { routeDevMailboxService } from "./handlers/dev-mailbox-service.js";
import { routeNotificationService } from "./handlers/notification-service.js";
import { DevMailbox } from "./mail/dev-mailbox.js";
import type { Mailer } from "./mail/mailer.js";
import { createSmtpMailer } from "./mail/smtp-mailer.js";
import { notificationRetentionJobs } from "./store/retention.js";
import { outbox } from "./store/schema.js";

const SCHEMA = "notification";
const migrationsFolder = fileURLToPath(new URL("../drizzle", import.meta.url));

export async function createNotificationService(deps: PlatformDeps): Promise<ServiceModule> {
  const logger = deps.logger.child({ svc: SCHEMA });
  const { mailer, devMailbox } = chooseMailer(deps, logger);
  // Required (start refused without it) only when verification mail is sent.
  const tokenKey = mailer && deps.config.emailVerification ? verificationTokenKey(deps.config) : deps.config.verificationTokenKey;

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
      // Started before the feed, so the feed never asks a view that hears no changes yet.
      const presence = await startPresenceView(deps, `notification-presence-${deps.config.nodeId}`);
      running = [relay, presence, await startFeedConsumer(deps, presence, logger)];
      if (mailer) running.push(await startMailerConsumer(deps, mailer, tokenKey, logger));
      running.push(
        startRetention({
          jobs: notificationRetentionJobs(deps.database.db, deps.config.retention),
          intervalMs: deps.config.retention.intervalSec * 1000,
          logger,
        }),
      );
    },
    async stop(): Promise<void> {
      // Consumers first, so nothing enqueues after the relay is gone.
      const stopping = running.reverse();
      running = [];
      for (const s of stopping) await s.stop();
      relay = undefined;
      mailer?.close();
    },
    async degraded(): Promise<string | undefined> {
      return relay?.degraded();
    },
  };
}

/**
 * Read once at creation. SMTP wins; the dev mailbox (and its public RPC) exists only on explicit
 * DEV_MAILBOX=true, which config refuses in production. With neither, mail can only be skipped
 * when EMAIL_VERIFICATION=off; otherwise the service refuses to start rather than lose every link.
 */
function chooseMailer(deps: PlatformDeps, logger: Logger): { mailer?: Mailer; devMailbox?: DevMailbox } {
  const { config } = deps;
  if (config.smtpUrl) return { mailer: createSmtpMailer(config.smtpUrl, config.mailFrom, logger) };
  if (config.devMailbox) {
    const devMailbox = new DevMailbox(logger);
    logger.warn("DEV_MAILBOX=true: mail is kept in memory and readable by anyone through DevMailboxService (development only)");
    return { mailer: devMailbox, devMailbox };
  }
  if (!config.emailVerification) {
    logger.warn("EMAIL_VERIFICATION=off and no SMTP_URL: no mail is sent");
    return {};
  }
  throw new ConfigError(
    "invalid configuration:\n  SMTP_URL: notification has no way to send verification mail; set SMTP_URL, or DEV_MAILBOX=true (embedded development only), or EMAIL_VERIFICATION=off",
  );
}
