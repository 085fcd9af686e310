import type { Database, OutboxFastPath, PlatformDeps } from "@parley/platform";

/** What the handlers share: the service's database, logger and the outbox's fast path. */
export interface ChatContext {
  db: Database;
  logger: PlatformDeps["logger"];
  /** Publishes committed message events and read receipts at once (the relay is the fallback). */
  events: OutboxFastPath;
}
