import type { Database, OutboxFastPath, PlatformDeps } from "@parley/platform";
import type { SendBatches } from "./messages/send-batches.js";

/** What the handlers share: the service's database, logger and the outbox's fast path. */
export interface ChatContext {
  db: Database;
  logger: PlatformDeps["logger"];
  /** Publishes committed message events and read receipts at once (the relay is the fallback). */
  events: OutboxFastPath;
  /** Group commit of the sends to one conversation (messages/send-batches.ts). */
  sendBatches: SendBatches;
}
