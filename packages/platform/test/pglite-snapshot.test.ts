/**
 * In-memory PGlite starts from a saved initdb snapshot (not initdb each time);
 * every database is still its own, a bad snapshot never stops a start, and a
 * data directory on disk keeps its data across restarts.
 */
import { sql } from "drizzle-orm";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openDatabase } from "../src/db.js";
import { initdbSnapshotPath } from "../src/pglite-snapshot.js";
import type { DatabaseHandle } from "../src/types.js";
import { logger } from "./helpers.js";

const open = (dataDir: string): Promise<DatabaseHandle> => openDatabase({ dataDir, logger });

async function tableNames(handle: DatabaseHandle): Promise<string[]> {
  const result = (await handle.db.execute(sql`select table_name from information_schema.tables where table_schema = 'public' order by 1`)) as unknown as {
    rows: { table_name: string }[];
  };
  return result.rows.map((r) => r.table_name);
}

describe("pglite initdb snapshot", () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it("in-memory databases start from the snapshot and share nothing", async () => {
    const first = await open("memory");
    await first.db.execute(sql`create table only_in_first (id int)`);
    expect((await stat(initdbSnapshotPath())).size).toBeGreaterThan(0);
    const second = await open("memory");
    try {
      expect(await tableNames(second)).toEqual([]);
      expect(await tableNames(first)).toEqual(["only_in_first"]);
    } finally {
      await first.close();
      await second.close();
    }
  });

  it("a corrupt snapshot is replaced and the database opens anyway", async () => {
    await writeFile(initdbSnapshotPath(), "not a tarball");
    const handle = await open("memory");
    try {
      await handle.ping();
      expect(await tableNames(handle)).toEqual([]);
    } finally {
      await handle.close();
    }
    // The failed load dropped the bad file and initdb's result took its place.
    expect((await readFile(initdbSnapshotPath())).byteLength).toBeGreaterThan(1_000_000);
  });

  it("a data directory on disk keeps its tables across restarts", async () => {
    const dir = await mkdtemp(join(tmpdir(), "parley-pglite-"));
    dirs.push(dir);
    const first = await open(dir);
    await first.db.execute(sql`create table kept (id int)`);
    await first.db.execute(sql`insert into kept values (7)`);
    await first.close();
    const again = await open(dir);
    try {
      const result = (await again.db.execute(sql`select id from kept`)) as unknown as { rows: { id: number }[] };
      expect(result.rows).toEqual([{ id: 7 }]);
    } finally {
      await again.close();
    }
  });
});
