/** The chat service: conversations, members, messages, history, search, read state. */
import { fileURLToPath } from "node:url";
import type { ConnectRouter } from "@connectrpc/connect";
import { ConversationService } from "@parley/gen/parley/chat/v1/conversation_pb";
import { MessageService } from "@parley/gen/parley/chat/v1/message_pb";
import { createOutboxFastPath, inboxRetentionJob, startOutboxRelay, startRetention, type OutboxRelay, type PlatformDeps, type ServiceModule, type Subscription } from "@parley/platform";
import { completeStoredMessageEvents } from "./events/complete-rows.js";
import { consumeSocialGraph } from "./events/consume-social-graph.js";
import { createSendBatches } from "./messages/send-batches.js";
import { createSendReads } from "./messages/send-reads.js";
import { conversationHandlers } from "./handlers/conversations.js";
import { messageHandlers } from "./handlers/messages.js";
import { inbox, outbox } from "./store/schema.js";

const migrationsFolder = fileURLToPath(new URL("../drizzle", import.meta.url));

export async function createChatService(deps: PlatformDeps): Promise<ServiceModule> {
  const logger = deps.logger.child({ svc: "chat" });
  const db = deps.database.db;
  const events = createOutboxFastPath({ db, bus: deps.bus, outbox, schemaName: "chat", logger });
  const ctx = { db, logger, events, sendBatches: createSendBatches(db, events, deps.metrics), sendReads: createSendReads(db, deps.metrics) };
  const running: { stop(): Promise<void> }[] = [];
  let relay: OutboxRelay | undefined;

  return {
    name: "chat",
    routes(router: ConnectRouter) {
      router.service(ConversationService, conversationHandlers(ctx));
      router.service(MessageService, messageHandlers(ctx));
    },
    async start() {
      await deps.database.migrate({ migrationsFolder, schema: "chat" });
      relay = startOutboxRelay({ database: deps.database, bus: deps.bus, outbox, schemaName: "chat", logger, metrics: deps.metrics, fastPath: events, completeRows: completeStoredMessageEvents });
      const started = relay;
      // Fast publishes in flight finish (and delete their rows) before the relay stops.
      running.push({ stop: () => events.drain().then(() => started.stop()) });
      const projection: Subscription = await consumeSocialGraph(deps.bus, db, logger);
      running.push(projection);
      running.push(
        startRetention({
          jobs: [inboxRetentionJob(db, inbox, deps.config.retention.inboxSec * 1000)],
          intervalMs: deps.config.retention.intervalSec * 1000,
          logger,
        }),
      );
    },
    async stop() {
      // Consumers first, then the relay, so nothing is half-applied at shutdown.
      for (const part of running.splice(0).reverse()) await part.stop();
      relay = undefined;
    },
    async degraded() {
      return relay?.degraded();
    },
  };
}
