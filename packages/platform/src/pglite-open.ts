/** Opens a PGlite instance (in the worker thread, or in-thread as the fallback). */
import { PGlite, types } from "@electric-sql/pglite";
import { pg_trgm } from "@electric-sql/pglite/contrib/pg_trgm";
import type { Logger } from "pino";
import { dropInitdbSnapshot, readInitdbSnapshot, saveInitdbSnapshot } from "./pglite-snapshot.js";

/**
 * drizzle's PGlite driver passes these parsers with every query (it parses
 * dates itself); functions cannot cross to the worker thread, so the worker's
 * instance has them built in. Same OIDs as drizzle-orm/pglite/session.js.
 */
const keepText = (value: string): string => value;
const DRIZZLE_TEXT_TYPES = [types.TIMESTAMP, types.TIMESTAMPTZ, types.INTERVAL, types.DATE, 1231, 1115, 1185, 1187, 1182];
export const DRIZZLE_PARSERS = Object.fromEntries(DRIZZLE_TEXT_TYPES.map((oid) => [oid, keepText]));

/**
 * Postgres' default 128 MB of shared buffers is most of an idle embedded
 * process's RSS once touched, and for an in-memory database it caches pages
 * that already live in memory (PGlite's file system). 16 MB holds a dev
 * instance's hot tables.
 */
const PGLITE_START_PARAMS = [...PGlite.defaultStartParams, "-c", "shared_buffers=16MB"];

async function createPglite(path: string | undefined, snapshot: Blob | undefined): Promise<PGlite> {
  return PGlite.create({
    ...(path ? { dataDir: path } : {}),
    ...(snapshot ? { loadDataDir: snapshot } : {}),
    extensions: { pg_trgm },
    parsers: DRIZZLE_PARSERS,
    startParams: PGLITE_START_PARAMS,
  });
}

/**
 * Its own function so the 40 MB snapshot is not kept alive by the closures of
 * the handle (they would share this scope).
 */
export async function openPgliteClient(path: string | undefined, logger: Logger): Promise<PGlite> {
  // Only in-memory databases start from the snapshot; a data directory on disk runs initdb once, ever.
  let snapshot = path ? undefined : await readInitdbSnapshot(logger);
  let client: PGlite;
  try {
    client = await createPglite(path, snapshot).catch(async (err: unknown) => {
      if (!snapshot) throw err;
      logger.warn({ err }, "pglite initdb snapshot did not load; dropping it and running initdb");
      snapshot = undefined;
      await dropInitdbSnapshot();
      return createPglite(path, undefined);
    });
  } catch (err) {
    throw new Error(`db: cannot open PGlite at ${path ?? "memory"}`, { cause: err });
  }
  // initdb ran: save its result for the next in-memory start.
  if (!path && !snapshot) await saveInitdbSnapshot(client, logger);
  return client;
}

