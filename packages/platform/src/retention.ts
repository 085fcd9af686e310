/**
 * Retention for tables that would otherwise only grow (inbox markers, used
 * tokens, read notifications). Each service lists its jobs and starts one
 * runner in ServiceModule.start(): it runs at once and then every interval,
 * deleting in bounded batches so a large backlog never becomes one long
 * transaction or one long lock. Replicas may run concurrently: deletes are
 * idempotent.
 */
import { lt, sql, type SQL } from "drizzle-orm";
import type { PgTable } from "drizzle-orm/pg-core";
import type { Logger } from "pino";
import type { InboxTable } from "./inbox.js";
import type { Database } from "./types.js";

export interface RetentionJob {
  readonly name: string;
  /** Deletes at most `limit` expired rows; resolves to how many it deleted. */
  prune(limit: number): Promise<number>;
}

export interface RetentionRunner {
  /** One full pass over every job (tests, and the periodic timer). Resolves to rows deleted per job. */
  runOnce(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

/** Rows per DELETE: small enough to hold locks briefly, large enough to keep up. */
export const RETENTION_BATCH = 1_000;
/** Batches per job and pass; the rest waits for the next pass, so one pass stays bounded. */
const MAX_BATCHES_PER_PASS = 50;

/**
 * Deletes up to `limit` rows of `table` matching `where` (by ctid: works for
 * any primary key shape, in Postgres and PGlite alike).
 */
export async function deleteBatch(db: Database, table: PgTable, where: SQL, limit: number): Promise<number> {
  const result = await db.execute(sql`delete from ${table} where ctid in (select ctid from ${table} where ${where} limit ${limit}) returning 1`);
  return rowsOf(result);
}

function rowsOf(result: unknown): number {
  // node-postgres answers { rows, rowCount }, PGlite { rows, affectedRows }: both carry the returned rows.
  const rows = (result as { rows?: unknown[] }).rows;
  return Array.isArray(rows) ? rows.length : 0;
}

/**
 * Inbox markers only matter while the bus can still redeliver their event:
 * JetStream keeps events 7 days, so rows older than that plus a margin
 * (INBOX_RETENTION, default 8 days) can never match a delivery again.
 */
export function inboxRetentionJob(db: Database, inbox: InboxTable, maxAgeMs: number): RetentionJob {
  return {
    name: "processed_events",
    prune: (limit) => deleteBatch(db, inbox, lt(inbox.processedAt, new Date(Date.now() - maxAgeMs)), limit),
  };
}

export function startRetention(opts: { jobs: RetentionJob[]; intervalMs: number; logger: Logger }): RetentionRunner {
  const log = opts.logger.child({ component: "retention" });
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<Record<string, number>> | undefined;

  async function pass(): Promise<Record<string, number>> {
    const deleted: Record<string, number> = {};
    for (const job of opts.jobs) {
      let total = 0;
      try {
        for (let i = 0; i < MAX_BATCHES_PER_PASS && !stopped; i++) {
          const n = await job.prune(RETENTION_BATCH);
          total += n;
          if (n < RETENTION_BATCH) break;
        }
      } catch (err) {
        // The next pass retries; a database outage must not stop the service.
        log.warn({ err, job: job.name }, "retention job failed");
      }
      deleted[job.name] = total;
      if (total > 0) log.info({ job: job.name, deleted: total }, "retention: old rows deleted");
    }
    return deleted;
  }

  const runOnce = (): Promise<Record<string, number>> => {
    running ??= pass().finally(() => (running = undefined));
    return running;
  };
  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(() => void runOnce().finally(schedule), opts.intervalMs);
    timer.unref();
  };
  void runOnce().finally(schedule);

  return {
    runOnce,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running?.catch(() => undefined);
    },
  };
}
