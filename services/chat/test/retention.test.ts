/** Retention: chat's inbox markers older than INBOX_RETENTION are deleted; recent ones stay. */
import { createTestPlatform, startTestServer, waitFor, type TestPlatform, type TestServer } from "@parley/platform/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createChatService } from "../src/index.js";
import { inbox } from "../src/store/schema.js";

const DAY = 24 * 3600_000;
let tp: TestPlatform;
let server: TestServer;

beforeAll(async () => {
  tp = await createTestPlatform();
  tp.deps.config.retention.intervalSec = 1;
  server = await startTestServer(tp.deps, [await createChatService(tp.deps)]);
}, 60_000);
afterAll(async () => {
  await server?.close();
  await tp?.close();
});

describe("chat retention", () => {
  it("prunes processed_events past the redelivery horizon, in batches, and keeps recent rows", async () => {
    const db = tp.deps.database.db;
    const horizon = tp.deps.config.retention.inboxSec * 1000;
    // More than one delete batch (1,000) of old rows.
    const old = Array.from({ length: 2_500 }, (_, i) => ({ consumer: "chat-social-graph", eventId: `old-${i}`, processedAt: new Date(Date.now() - horizon - DAY) }));
    for (let i = 0; i < old.length; i += 500) await db.insert(inbox).values(old.slice(i, i + 500));
    await db.insert(inbox).values({ consumer: "chat-social-graph", eventId: "recent", processedAt: new Date(Date.now() - horizon + DAY) });
    await waitFor(
      async () => {
        const left = (await db.select().from(inbox)).map((r) => r.eventId);
        expect(left).toEqual(["recent"]);
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
  }, 60_000);
});
