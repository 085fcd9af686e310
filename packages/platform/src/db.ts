/**
 * Drizzle over `pg` (DATABASE_URL) or PGlite (embedded; same SQL and
 * migrations). pg_trgm is available in both, so services can rely on it.
 */
import { PGlite } from "@electric-sql/pglite";
import { pg_trgm } from "@electric-sql/pglite/contrib/pg_trgm";
import { sql } from "drizzle-orm";
import { drizzle as drizzlePg } from "drizzle-orm/node-postgres";
import { migrate as migratePg } from "drizzle-orm/node-postgres/migrator";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import pg from "pg";
import type { Logger } from "pino";
import { dropInitdbSnapshot, readInitdbSnapshot, saveInitdbSnapshot } from "./pglite-snapshot.js";
import { redactUrl } from "./redact.js";
import type { Database, DatabaseHandle } from "./types.js";

export interface OpenDatabaseOptions {
  /** postgres://… ; absent = embedded PGlite. */
  url?: string;
  /** PGlite files go to `<dataDir>/pglite`; `"memory"` keeps everything in memory. */
  dataDir: string;
  logger: Logger;
  /** Pool size and timeouts of the Postgres pool (ignored by PGlite); defaults below. */
  pool?: Partial<PoolSettings> | undefined;
}

/**
 * Without these a blackholed or overloaded Postgres makes every request wait
 * forever and the pool's queue grow without bound; with them a call fails
 * within a bounded time and the client is told `unavailable` (see
 * backend-errors.ts).
 */
export interface PoolSettings {
  /** Connections per process. */
  max: number;
  /** Opening a connection. */
  connectTimeoutMs: number;
  /** Waiting for a free pooled connection (a burst queues; that is load, not an outage). */
  acquireTimeoutMs: number;
  /** Server-side statement_timeout; the client gives up STATEMENT_GRACE_MS later (a dead server never answers). */
  statementTimeoutMs: number;
  /** Server ends sessions idle inside a transaction this long (a stuck handler must not hold locks). */
  idleInTxTimeoutMs: number;
}

export const DEFAULT_POOL_SETTINGS: PoolSettings = { max: 10, connectTimeoutMs: 5_000, acquireTimeoutMs: 30_000, statementTimeoutMs: 15_000, idleInTxTimeoutMs: 30_000 };
/** The server's own timeout should win when the server is alive, so its error (57014) is what callers see. */
const STATEMENT_GRACE_MS = 1_000;

const MIGRATIONS_TABLE = "__migrations";
/**
 * One lock for every schema: services migrating concurrently at startup would
 * otherwise race on `CREATE EXTENSION` (unique violation in pg_extension) and
 * on the same schema's `__migrations` table. Migrations are short, so
 * serialising them all costs nothing.
 */
const MIGRATION_LOCK_KEY = 7_261_436_001;

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export async function openDatabase(opts: OpenDatabaseOptions): Promise<DatabaseHandle> {
  return opts.url ? openPostgres(opts.url, opts.logger, { ...DEFAULT_POOL_SETTINGS, ...opts.pool }) : openPglite(opts.dataDir, opts.logger);
}

async function openPostgres(url: string, parentLogger: Logger, settings: PoolSettings): Promise<DatabaseHandle> {
  const logger = parentLogger.child({ component: "db", kind: "pg" });
  // pg-pool uses connectionTimeoutMillis both for the wait in its queue and for the clients it
  // opens; the clients get their own, shorter connect timeout.
  const connectTimeoutMs = settings.connectTimeoutMs;
  class TimedClient extends pg.Client {
    constructor(config?: pg.ClientConfig) {
      super({ ...config, connectionTimeoutMillis: connectTimeoutMs });
    }
  }
  const pool = new ReleasingPool({
    connectionString: url,
    max: settings.max,
    connectionTimeoutMillis: settings.acquireTimeoutMs,
    Client: TimedClient,
    statement_timeout: settings.statementTimeoutMs,
    query_timeout: settings.statementTimeoutMs + STATEMENT_GRACE_MS,
    idle_in_transaction_session_timeout: settings.idleInTxTimeoutMs,
    keepAlive: true,
  });
  // An idle client losing its connection (Postgres restart) emits on the pool; without a listener it crashes the process.
  pool.on("error", (err) => logger.warn({ err }, "idle postgres client error"));
  pool.on("connect", (client) => dropConnectionOnReadTimeout(client, logger));
  try {
    await pool.query("select 1");
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw new Error(`db: cannot connect to Postgres at ${redactUrl(url)}`, { cause: err });
  }
  // drizzle's node-postgres type differs from the generic PgDatabase only in its query-result HKT.
  const db = drizzlePg({ client: pool }) as unknown as Database;
  const listener = createPgListener(url, logger);

  return {
    db,
    kind: "pg",
    async migrate({ migrationsFolder, schema }) {
      // Advisory locks belong to a session, so lock, migrate and unlock on one client. Not a pooled
      // one: waiting for the lock and building an index on a big table may take far longer than
      // the request timeouts the pool's clients carry.
      const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: settings.connectTimeoutMs, keepAlive: true });
      try {
        await client.connect();
      } catch (err) {
        throw new Error(`db: migrating schema ${schema}: cannot connect to Postgres at ${redactUrl(url)}`, { cause: err });
      }
      try {
        await client.query("select pg_advisory_lock($1)", [MIGRATION_LOCK_KEY]);
        try {
          await client.query(`create schema if not exists ${quoteIdent(schema)}`);
          await client.query("create extension if not exists pg_trgm");
          await migratePg(drizzlePg({ client }), { migrationsFolder, migrationsSchema: schema, migrationsTable: MIGRATIONS_TABLE });
        } finally {
          await client.query("select pg_advisory_unlock($1)", [MIGRATION_LOCK_KEY]);
        }
      } catch (err) {
        throw new Error(`db: migrating schema ${schema} from ${migrationsFolder} failed`, { cause: err });
      } finally {
        await client.end().catch(() => undefined);
      }
    },
    listen: (channel, onNotify) => listener.listen(channel, onNotify),
    async ping() {
      await pool.query("select 1");
    },
    async close() {
      await listener.close();
      await pool.end();
    },
  };
}

/**
 * pg's client-side query timeout rejects the promise but leaves the query
 * active on the connection, and drizzle releases transaction clients without
 * an error: the pool would hand out a client whose every later query queues
 * behind an answer that never comes. Ending the socket makes the pool drop it.
 */
function dropConnectionOnReadTimeout(client: pg.PoolClient, logger: Logger): void {
  // The pool listens for errors of idle clients only; a dropped checked-out client must not crash the process.
  client.on("error", (err) => logger.debug({ err }, "postgres connection dropped"));
  const query = client.query;
  const guarded = (...args: unknown[]): unknown => {
    const result: unknown = (query as (...a: unknown[]) => unknown).apply(client, args);
    if (result instanceof Promise) {
      result.catch((err: unknown) => {
        if (err instanceof Error && err.message === "Query read timeout") client.connection.stream.destroy();
      });
    }
    return result;
  };
  client.query = guarded as typeof client.query;
}

/**
 * drizzle's transaction() sends BEGIN outside its try/finally: when BEGIN
 * fails (timeout, lost connection) the client is never released and the pool
 * shrinks by one for good. A checked-out client whose connection ends is
 * released here (with the error, so the pool discards it), and release
 * becomes idempotent so drizzle's own release later is harmless.
 */
class ReleasingPool extends pg.Pool {
  override connect(): Promise<pg.PoolClient>;
  override connect(callback: (err: Error | undefined, client: pg.PoolClient | undefined, done: (release?: unknown) => void) => void): void;
  override connect(
    callback?: (err: Error | undefined, client: pg.PoolClient | undefined, done: (release?: unknown) => void) => void,
  ): Promise<pg.PoolClient> | void {
    if (callback) return super.connect(callback);
    return super.connect().then(releaseOnConnectionLoss);
  }
}

function releaseOnConnectionLoss(client: pg.PoolClient): pg.PoolClient {
  const release = client.release.bind(client);
  let released = false;
  const onEnd = (): void => client.release(new Error("postgres connection lost while checked out"));
  client.once("end", onEnd);
  client.release = (err?: Error | boolean) => {
    if (released) return;
    released = true;
    client.off("end", onEnd);
    release(err);
  };
  return client;
}

/**
 * LISTEN needs a connection of its own that stays open (a pooled client would
 * be reused by queries). One client serves every channel; if it drops, it is
 * reconnected and re-LISTENs, and callers' poll fallbacks cover the gap.
 */
function createPgListener(url: string, logger: Logger) {
  const handlers = new Map<string, Set<() => void>>();
  let client: pg.Client | undefined;
  let connecting: Promise<pg.Client> | undefined;
  let closed = false;

  async function connectClient(): Promise<pg.Client> {
    // Same connect timeout: a LISTEN reconnect against a blackholed server must fail and retry, not hang.
    const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000, keepAlive: true });
    c.on("notification", (n) => {
      for (const h of handlers.get(n.channel) ?? []) h();
    });
    c.on("error", (err) => {
      logger.warn({ err }, "postgres LISTEN connection lost; reconnecting");
      if (client === c) client = undefined;
      void c.end().catch(() => undefined);
      setTimeout(() => void reconnect(), 1_000);
    });
    await c.connect();
    for (const channel of handlers.keys()) await c.query(`listen ${quoteIdent(channel)}`);
    return c;
  }

  async function reconnect(): Promise<void> {
    if (closed || client || connecting || handlers.size === 0) return;
    try {
      await ensureClient();
    } catch (err) {
      logger.warn({ err }, "postgres LISTEN reconnect failed; retrying");
      setTimeout(() => void reconnect(), 2_000);
    }
  }

  async function ensureClient(): Promise<pg.Client> {
    if (client) return client;
    connecting ??= connectClient().finally(() => (connecting = undefined));
    client = await connecting;
    return client;
  }

  return {
    async listen(channel: string, onNotify: () => void): Promise<() => Promise<void>> {
      if (closed) throw new Error(`db: closed; cannot listen on ${channel}`);
      let set = handlers.get(channel);
      const first = !set;
      if (!set) handlers.set(channel, (set = new Set()));
      set.add(onNotify);
      try {
        const c = await ensureClient();
        if (first) await c.query(`listen ${quoteIdent(channel)}`);
      } catch (err) {
        set.delete(onNotify);
        if (set.size === 0) handlers.delete(channel);
        throw new Error(`db: LISTEN ${channel} failed`, { cause: err });
      }
      return async () => {
        set.delete(onNotify);
        if (set.size > 0 || handlers.get(channel) !== set) return;
        handlers.delete(channel);
        await client?.query(`unlisten ${quoteIdent(channel)}`).catch(() => undefined);
      };
    },
    async close(): Promise<void> {
      closed = true;
      handlers.clear();
      const c = client ?? (await connecting?.catch(() => undefined));
      client = undefined;
      await c?.end().catch(() => undefined);
    },
  };
}

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
    startParams: PGLITE_START_PARAMS,
  });
}

/**
 * Its own function so the 40 MB snapshot is not kept alive by the closures of
 * the handle (they would share this scope).
 */
async function openPgliteClient(path: string | undefined, logger: Logger): Promise<PGlite> {
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

async function openPglite(dataDir: string, parentLogger: Logger): Promise<DatabaseHandle> {
  const logger = parentLogger.child({ component: "db", kind: "pglite" });
  let path: string | undefined;
  if (dataDir !== "memory") {
    await mkdir(dataDir, { recursive: true });
    path = join(dataDir, "pglite");
  }
  const client = await openPgliteClient(path, logger);
  logger.debug({ path: path ?? "memory" }, "pglite opened");
  const db = drizzlePglite({ client }) as unknown as Database;
  // PGlite is one connection, but two migrate() calls could still interleave their statements.
  let migrations: Promise<unknown> = Promise.resolve();

  return {
    db,
    kind: "pglite",
    migrate({ migrationsFolder, schema }) {
      const run = migrations.then(async () => {
        try {
          await db.execute(sql.raw(`create schema if not exists ${quoteIdent(schema)}`));
          await db.execute(sql.raw("create extension if not exists pg_trgm"));
          await migratePglite(drizzlePglite({ client }), { migrationsFolder, migrationsSchema: schema, migrationsTable: MIGRATIONS_TABLE });
        } catch (err) {
          throw new Error(`db: migrating schema ${schema} from ${migrationsFolder} failed`, { cause: err });
        }
      });
      migrations = run.catch(() => undefined);
      return run;
    },
    async listen(channel, onNotify) {
      const unlisten = await client.listen(channel, () => onNotify());
      return async () => {
        if (!client.closed) await unlisten();
      };
    },
    async ping() {
      await client.query("select 1");
    },
    async close() {
      if (!client.closed) await client.close();
    },
  };
}
