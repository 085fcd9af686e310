/**
 * Embedded PGlite runs in a worker thread behind the same DatabaseHandle:
 * a long statement leaves the event loop free, transactions keep their
 * isolation, LISTEN/NOTIFY and database error fields come through.
 */
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../src/db.js";
import type { DatabaseHandle } from "../src/types.js";
import { logger, waitFor } from "./helpers.js";

let handle: DatabaseHandle;
const rows = async <T>(query: ReturnType<typeof sql>): Promise<T[]> => ((await handle.db.execute(query)) as unknown as { rows: T[] }).rows;

beforeAll(async () => {
  handle = await openDatabase({ dataDir: "memory", logger });
  await handle.db.execute(sql`create table items (id int primary key, note text)`);
});
afterAll(async () => handle?.close());

describe("pglite in a worker thread", () => {
  it("a long statement does not block the event loop", async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 20);
    try {
      await handle.db.execute(sql`select pg_sleep(0.5)`);
    } finally {
      clearInterval(timer);
    }
    // On the main thread PGlite would hold the loop for the whole statement: no tick at all.
    expect(ticks).toBeGreaterThan(3);
  });

  it("commits, rolls back, and keeps other statements out of an open transaction", async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const tx = handle.db.transaction(async (t) => {
      await t.execute(sql`insert into items values (1, 'in tx')`);
      await held;
    });
    // Queued behind the transaction: it sees the committed row, never a half-done one.
    const outside = rows<{ n: number }>(sql`select count(*)::int as n from items`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    release();
    await tx;
    expect(await outside).toEqual([{ n: 1 }]);

    await expect(
      handle.db.transaction(async (t) => {
        await t.execute(sql`insert into items values (2, 'rolled back')`);
        throw new Error("abort");
      }),
    ).rejects.toThrow("abort");
    expect(await rows<{ id: number }>(sql`select id from items order by id`)).toEqual([{ id: 1 }]);
  });

  it("delivers NOTIFY to listeners, after commit", async () => {
    let notified = 0;
    const unlisten = await handle.listen("items_changed", () => notified++);
    await handle.db.transaction(async (t) => {
      await t.execute(sql`notify items_changed`);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(notified).toBe(0);
    });
    await waitFor(() => notified === 1);
    await unlisten();
    await handle.db.execute(sql`notify items_changed`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(notified).toBe(1);
  });

  it("keeps the SQLSTATE and constraint of a failed statement", async () => {
    const err = await handle.db.execute(sql`insert into items values (1, 'duplicate')`).catch((e: unknown) => e as Error & { cause?: Record<string, unknown> });
    expect(err).toBeInstanceOf(Error);
    expect(err?.cause).toMatchObject({ code: "23505", constraint: "items_pkey" });
  });
});
