/**
 * executePrepared: the same answers as db.execute on every driver; on the
 * Postgres pool the statement is prepared once per connection (one entry in
 * pg_prepared_statements however often it runs, one per distinct text), and
 * inside a transaction it runs unnamed.
 */
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../src/db.js";
import { executePrepared } from "../src/prepared.js";
import { createTestDatabase } from "../src/testing.js";
import type { DatabaseHandle } from "../src/types.js";
import { logger } from "./helpers.js";

const REAL = process.env.PARLEY_TEST_REAL === "1";

let handle: DatabaseHandle;
let drop: (() => Promise<void>) | undefined;

beforeAll(async () => {
  if (REAL) {
    const scratch = await createTestDatabase();
    drop = scratch.drop;
    // One connection: what pg_prepared_statements shows is that connection's.
    handle = await openDatabase({ url: scratch.url, dataDir: "memory", logger, pool: { max: 1 } });
  } else {
    handle = await openDatabase({ dataDir: "memory", logger });
  }
}, 60_000);

afterAll(async () => {
  await handle?.close();
  await drop?.();
});

const sum = (a: number, b: number) => sql`select ${a}::int + ${b}::int as total, 'plan probe ' || ${String(a)}::text as label`;

async function preparedCount(): Promise<number> {
  const result = await handle.db.execute(sql`select count(*)::int as n from pg_prepared_statements where statement like '%plan probe%' and statement not like '%pg_prepared_statements%'`);
  return Number((result as unknown as { rows: { n: number }[] }).rows[0]?.n);
}

describe("executePrepared", () => {
  it("answers like execute, with the parameters of each call", async () => {
    expect((await executePrepared(handle.db, sum(1, 2))).rows).toEqual([{ total: 3, label: "plan probe 1" }]);
    expect((await executePrepared(handle.db, sum(40, 2))).rows).toEqual([{ total: 42, label: "plan probe 40" }]);
  });

  it.runIf(REAL)("prepares a statement once per connection and text", async () => {
    for (let i = 0; i < 20; i++) await executePrepared(handle.db, sum(i, i));
    expect(await preparedCount()).toBe(1);
    // Another text, another statement, never a clash of names.
    await executePrepared(handle.db, sql`select ${1}::int as total, 'plan probe two' as label`);
    expect(await preparedCount()).toBe(2);
  });

  it.runIf(REAL)("runs unnamed inside a transaction", async () => {
    const before = await preparedCount();
    const rows = await handle.db.transaction(async (tx) => (await executePrepared(tx, sql`select ${7}::int as total, 'plan probe tx' as label`)).rows);
    expect(rows).toEqual([{ total: 7, label: "plan probe tx" }]);
    expect(await preparedCount()).toBe(before);
  });
});
