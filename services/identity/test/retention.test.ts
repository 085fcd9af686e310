/**
 * Retention: old inbox markers and tokens that can no longer be used are
 * deleted by the service's periodic job; recent ones stay.
 */
import { randomUUID } from "node:crypto";
import { inArray } from "drizzle-orm";
import { createTestPlatform, startTestServer, waitFor, type TestPlatform, type TestServer } from "@parley/platform/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createIdentityService } from "../src/index.js";
import { emailVerificationTokens, inbox, refreshTokens, sessions, users } from "../src/store/schema.js";

const DAY = 24 * 3600_000;
let tp: TestPlatform;
let server: TestServer;

beforeAll(async () => {
  tp = await createTestPlatform();
  // Sweep every second, so the test sees a pass soon after inserting.
  tp.deps.config.retention.intervalSec = 1;
  server = await startTestServer(tp.deps, [await createIdentityService(tp.deps)]);
}, 60_000);
afterAll(async () => {
  await server?.close();
  await tp?.close();
});

describe("identity retention", () => {
  it("deletes old inbox rows and long-expired or long-used tokens, keeps the rest", async () => {
    const db = tp.deps.database.db;
    const ago = (ms: number) => new Date(Date.now() - ms);
    const userId = randomUUID();
    await db.insert(users).values({ id: userId, email: `${userId}@example.test`, username: `u${userId.slice(0, 8)}`, displayName: "R", passwordHash: "x" });

    await db.insert(inbox).values([
      { consumer: "c", eventId: "old", processedAt: ago(30 * DAY) },
      { consumer: "c", eventId: "recent", processedAt: ago(DAY) },
    ]);
    const familyIds: string[] = [];
    const token = (id: string, expiresAt: Date, extra: Partial<typeof refreshTokens.$inferInsert> = {}) => ({
      id,
      familyId: familyIds[familyIds.push(randomUUID()) - 1]!,
      userId,
      tokenHash: randomUUID(),
      expiresAt,
      ...extra,
    });
    const expiredLongAgo = randomUUID();
    const expiredYesterday = randomUUID();
    const live = randomUUID();
    const rotatedButLive = randomUUID();
    const tokens = [
      token(expiredLongAgo, ago(30 * DAY)),
      token(expiredYesterday, ago(DAY)),
      token(live, new Date(Date.now() + DAY)),
      // Reuse detection needs rotated tokens until they expire.
      token(rotatedButLive, new Date(Date.now() + DAY), { usedAt: ago(30 * DAY) }),
    ];
    // Every session is old; only the one whose last token gets pruned (expiredLongAgo's) may go.
    await db.insert(sessions).values(familyIds.map((id) => ({ id, userId, createdAt: ago(60 * DAY) })));
    await db.insert(refreshTokens).values(tokens);
    const verification = (id: string, expiresAt: Date, usedAt: Date | null = null) => ({ id, userId, tokenHash: randomUUID(), expiresAt, usedAt });
    const vExpired = randomUUID();
    const vUsedLongAgo = randomUUID();
    const vPending = randomUUID();
    await db.insert(emailVerificationTokens).values([
      verification(vExpired, ago(30 * DAY)),
      verification(vUsedLongAgo, new Date(Date.now() + DAY), ago(30 * DAY)),
      verification(vPending, new Date(Date.now() + DAY)),
    ]);

    await waitFor(
      async () => {
        const inboxLeft = (await db.select().from(inbox)).map((r) => r.eventId);
        const refreshLeft = (await db.select().from(refreshTokens)).map((r) => r.id);
        const verifyLeft = (await db.select().from(emailVerificationTokens)).map((r) => r.id);
        expect(inboxLeft).toEqual(["recent"]);
        expect(refreshLeft.sort()).toEqual([expiredYesterday, live, rotatedButLive].sort());
        expect(verifyLeft).toEqual([vPending]);
        const sessionsLeft = (await db.select().from(sessions)).map((r) => r.id);
        expect(sessionsLeft.sort()).toEqual(familyIds.slice(1).sort());
      },
      { timeoutMs: 20_000, intervalMs: 250 },
    );
    expect(await db.select().from(users).where(inArray(users.id, [userId]))).toHaveLength(1);
  }, 60_000);
});
