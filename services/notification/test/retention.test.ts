/**
 * Retention: read notifications older than NOTIFICATION_READ_RETENTION and
 * old inbox markers are deleted; unread notifications stay whatever their age.
 */
import { randomUUID } from "node:crypto";
import { createTestPlatform, startTestServer, waitFor, type TestPlatform, type TestServer } from "@parley/platform/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNotificationService } from "../src/index.js";
import { inbox, notifications } from "../src/store/schema.js";

const DAY = 24 * 3600_000;
let tp: TestPlatform;
let server: TestServer;

beforeAll(async () => {
  tp = await createTestPlatform();
  tp.deps.config.retention.intervalSec = 1;
  server = await startTestServer(tp.deps, [await createNotificationService(tp.deps)]);
}, 60_000);
afterAll(async () => {
  await server?.close();
  await tp?.close();
});

describe("notification retention", () => {
  it("deletes long-read notifications and old inbox rows, keeps unread and recently read ones", async () => {
    const db = tp.deps.database.db;
    const keepFor = tp.deps.config.retention.readNotificationSec * 1000;
    const ago = (ms: number) => new Date(Date.now() - ms);
    const row = (readAt: Date | null, createdAt: Date) => ({
      id: randomUUID(),
      userId: "u1",
      kind: "message",
      actorId: "u2",
      sourceEventId: randomUUID(),
      createdAt,
      readAt,
    });
    const readLongAgo = row(ago(keepFor + DAY), ago(keepFor + 2 * DAY));
    const readRecently = row(ago(DAY), ago(keepFor + 2 * DAY));
    const unreadAncient = row(null, ago(keepFor * 3));
    await db.insert(notifications).values([readLongAgo, readRecently, unreadAncient]);
    await db.insert(inbox).values([
      { consumer: "notification-feed", eventId: "old", processedAt: ago(tp.deps.config.retention.inboxSec * 1000 + DAY) },
      { consumer: "notification-feed", eventId: "recent", processedAt: ago(DAY) },
    ]);
    await waitFor(
      async () => {
        const left = (await db.select().from(notifications)).map((r) => r.id).sort();
        expect(left).toEqual([readRecently.id, unreadAncient.id].sort());
        expect((await db.select().from(inbox)).map((r) => r.eventId)).toEqual(["recent"]);
      },
      { timeoutMs: 20_000, intervalMs: 250 },
    );
  }, 60_000);
});
