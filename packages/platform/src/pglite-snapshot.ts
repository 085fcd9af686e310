/**
 * A fresh in-memory PGlite runs initdb (a second WASM instance) on every
 * start: seconds per start, and tests start many. The first start saves the
 * freshly initialised data directory as a tarball in the OS temp directory;
 * later in-memory starts load it instead. The file is named after the
 * installed PGlite build, so an upgrade never loads another version's
 * catalog; a file that fails to load is ignored (and replaced).
 */
import { createHash, randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import { openAsBlob } from "node:fs";
import { rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PGlite } from "@electric-sql/pglite";
import type { Logger } from "pino";

/** Bump when what a snapshot contains changes (e.g. extensions created before saving). */
const SNAPSHOT_FORMAT = 1;

/** Exported for tests. */
export function initdbSnapshotPath(): string {
  // The resolved path names the installed package and version (pnpm: …/@electric-sql+pglite@<version>/…).
  const pglite = createRequire(import.meta.url).resolve("@electric-sql/pglite");
  const key = createHash("sha256").update(`${SNAPSHOT_FORMAT}:${pglite}`).digest("hex").slice(0, 16);
  return join(tmpdir(), `parley-pglite-initdb-${key}.tar`);
}

/**
 * The saved fresh data directory, or undefined when there is none yet (or it
 * cannot be read). A file-backed Blob: PGlite keeps its options, and a Blob
 * in memory would be 40 MB of RSS for the life of the process.
 */
export async function readInitdbSnapshot(logger: Logger): Promise<Blob | undefined> {
  const path = initdbSnapshotPath();
  try {
    return await openAsBlob(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") logger.warn({ err, path }, "pglite initdb snapshot unreadable; running initdb");
    return undefined;
  }
}

/** Saves `client`'s data directory; call before anything but startup has run on it. */
export async function saveInitdbSnapshot(client: PGlite, logger: Logger): Promise<void> {
  const path = initdbSnapshotPath();
  // Concurrent first starts (parallel test files) each write their own file; rename is atomic.
  const partial = `${path}.${process.pid}.${randomBytes(4).toString("hex")}`;
  try {
    const tarball = await client.dumpDataDir("none");
    await writeFile(partial, new Uint8Array(await tarball.arrayBuffer()));
    await rename(partial, path);
  } catch (err) {
    logger.warn({ err, path }, "could not save the pglite initdb snapshot; the next start runs initdb again");
    await rm(partial, { force: true }).catch(() => undefined);
  }
}

/** A snapshot that failed to load (truncated, foreign) is dropped so the next start rebuilds it. */
export async function dropInitdbSnapshot(): Promise<void> {
  await rm(initdbSnapshotPath(), { force: true }).catch(() => undefined);
}
