/**
 * Migration 0004 on a feed written by the earlier code (one new_message row
 * per message): each (user, conversation) keeps its newest row, counting the
 * unread ones, so the one-row-per-conversation index can be built.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { randomUUID } from "node:crypto";
import { sql } from "drizzle-orm";
import { createTestPlatform, type TestPlatform } from "@parley/platform/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { notifications } from "../src/store/schema.js";

const migrationsFolder = fileURLToPath(new URL("../drizzle", import.meta.url));
const SCHEMA = "notification";
let tp: TestPlatform;
let before0004: string;

beforeAll(async () => {
  tp = await createTestPlatform();
  // The same migrations with the journal cut before 0004: the schema the earlier code wrote to.
  before0004 = await mkdtemp(join(tmpdir(), "parley-notification-migrations-"));
  await cp(migrationsFolder, before0004, { recursive: true });
  const journalFile = join(before0004, "meta", "_journal.json");
  const journal = JSON.parse(await readFile(journalFile, "utf8")) as { entries: Array<{ tag: string }> };
  journal.entries = journal.entries.filter((e) => e.tag < "0004");
  await writeFile(journalFile, JSON.stringify(journal));
}, 60_000);
afterAll(async () => {
  await tp?.close();
  if (before0004) await rm(before0004, { recursive: true, force: true });
});

describe("migration 0004", () => {
  it("collapses per-message rows into one per (user, conversation) with the unread count", async () => {
    const db = tp.deps.database.db;
    await tp.deps.database.migrate({ migrationsFolder: before0004, schema: SCHEMA });
    const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 0, minute)).toISOString();
    const rows: Array<{ id: string; user: string; kind: string; conversation: string; createdAt: string; readAt: string | null }> = [];
    const add = (user: string, kind: string, conversation: string, minute: number, read: boolean) => {
      const row = { id: randomUUID(), user, kind, conversation, createdAt: at(minute), readAt: read ? at(minute + 30) : null };
      rows.push(row);
      return row.id;
    };
    add("u1", "new_message", "c1", 1, true);
    add("u1", "new_message", "c1", 2, false);
    const newestUnread = add("u1", "new_message", "c1", 3, false);
    add("u1", "new_message", "c2", 1, true);
    const newestRead = add("u1", "new_message", "c2", 2, true);
    const single = add("u2", "new_message", "c1", 4, false);
    const friendRequest = add("u1", "friend_request_received", "", 5, false);
    for (const r of rows) {
      await db.execute(sql`
        insert into ${notifications} (id, user_id, kind, actor_id, conversation_id, source_event_id, created_at, read_at)
        values (${r.id}::uuid, ${r.user}, ${r.kind}, 'someone', ${r.conversation}, ${randomUUID()}, ${r.createdAt}::timestamptz, ${r.readAt}::timestamptz)`);
    }

    await tp.deps.database.migrate({ migrationsFolder, schema: SCHEMA });

    const left = await db.select().from(notifications);
    const summary = Object.fromEntries(left.map((r) => [r.id, { unread: r.unreadMessages, read: r.readAt !== null }]));
    expect(summary).toEqual({
      [newestUnread]: { unread: 2, read: false },
      [newestRead]: { unread: 0, read: true },
      [single]: { unread: 1, read: false },
      [friendRequest]: { unread: 0, read: false },
    });
  });
});
