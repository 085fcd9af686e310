import type { Database, OutboxFastPath, PlatformDeps } from "@parley/platform";
import type { SendBatches } from "./messages/send-batches.js";
import type { SendReads } from "./messages/send-reads.js";

/** What the handlers share: the service's database, logger and the outbox's fast path. */
export interface ChatContext {
  db: Database;
  logger: PlatformDeps["logger"];
  /** Publishes committed message events and read receipts at once (the relay is the fallback). */
  events: OutboxFastPath;
  /** Group commit of the sends, within and across conversations (messages/send-batches.ts). */
  sendBatches: SendBatches;
  /** The sends' reads, shared by the sends that arrive while one is in flight (messages/send-reads.ts). */
  sendReads: SendReads;
}
