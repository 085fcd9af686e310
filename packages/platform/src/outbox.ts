/**
 * Transactional outbox: events are rows written in the same transaction as
 * the state change, and a relay publishes them to the bus afterwards, so an
 * event exists if and only if its change committed.
 */
import { create, fromBinary, toBinary, type DescMessage, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { sql } from "drizzle-orm";
import { customType, getTableConfig, integer, text, timestamp, type PgSchema } from "drizzle-orm/pg-core";
import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { MAX_EVENT_BYTES } from "./bus/errors.js";
import type { EventType } from "./bus/event-catalog.js";
import type { OutboxFastPath } from "./outbox-fast-path.js";
import { MAX_PUBLISH_ATTEMPTS, publishOutboxBatch, type OutboxRow } from "./outbox-publish.js";
import { outboxMetrics } from "./outbox-metrics.js";
import type { BusMessage, Database, DatabaseHandle, EventBus } from "./types.js";

export type { OutboxRow };

/** bytea as Uint8Array on both drivers (pg yields Buffer, itself a Uint8Array; PGlite yields Uint8Array). */
const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({
  dataType: () => "bytea",
  // pg only sends Buffers as binary parameters; a plain Uint8Array would be serialised as text.
  toDriver: (value) => Buffer.from(value.buffer, value.byteOffset, value.byteLength),
  fromDriver: (value) => value,
});

/**
 * `id` is a UUIDv7 (text) generated here rather than a bigserial: it is
 * also the Nats-Msg-Id, and every service has its own outbox, so a per-table
 * counter would collide across services inside JetStream's dedupe window.
 * Being time-ordered, `ORDER BY id` still publishes roughly in write order.
 *
 * A row the broker refuses for good (see `UnpublishableEventError`), or that
 * failed `MAX_PUBLISH_ATTEMPTS` times while the broker was healthy, is parked:
 * `parked_at` set, kept with its `last_error` for an operator
 * (`parley-events outbox list|replay|drop`), skipped by the relay.
 */
export function outboxTable(schema: PgSchema) {
  return schema.table("outbox", {
    id: text("id").primaryKey(),
    subject: text("subject").notNull(),
    payload: bytea("payload").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    /** Failed publish attempts counted while the broker answered (a broker outage counts nothing). */
    attempts: integer("attempts").notNull().default(0),
    lastError: text("last_error"),
    parkedAt: timestamp("parked_at", { withTimezone: true }),
  });
}

export type OutboxTable = ReturnType<typeof outboxTable>;

/** NOTIFY channel the relay of `schemaName` listens on. */
export function outboxChannel(schemaName: string): string {
  return `${schemaName}_outbox`;
}

let lastMs = 0;
let counter = 0;

/** UUIDv7 with a 12-bit per-millisecond counter, so ids from one process are strictly increasing. */
export function newEventId(): string {
  let ms = Date.now();
  if (ms > lastMs) {
    lastMs = ms;
    counter = randomBytes(2).readUInt16BE() & 0x3ff; // leave room to count up within the ms
  } else {
    counter++;
    if (counter > 0xfff) {
      lastMs++;
      counter = 0;
    }
    ms = lastMs;
  }
  const b = randomBytes(16);
  b.writeUIntBE(ms, 0, 6);
  b[6] = 0x70 | (counter >> 8);
  b[7] = counter & 0xff;
  b[8] = 0x80 | (b[8]! & 0x3f);
  const hex = b.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** One outbox row as written: what the relay or the fast path publishes (`id` is the Nats-Msg-Id). */
export interface OutboxEvent {
  readonly id: string;
  readonly subject: string;
  readonly payload: Uint8Array;
}

/**
 * Encodes one event with a fresh id, refusing one over the broker's size
 * limit here (the write then fails as a whole with a clear error; accepted,
 * it would be a row the broker never takes). For callers that insert the
 * row themselves as part of a larger statement.
 */
export function outboxEvent<Desc extends DescMessage>(event: EventType<Desc>, value: MessageInitShape<Desc>): OutboxEvent {
  const { subject, schema } = event;
  const payload = toBinary(schema, create(schema, value));
  if (payload.byteLength > MAX_EVENT_BYTES) {
    throw new ConnectError(
      `event ${subject} would be ${payload.byteLength} bytes, over the limit of ${MAX_EVENT_BYTES} bytes per event`,
      Code.ResourceExhausted,
    );
  }
  return { id: newEventId(), subject, payload };
}

/**
 * Writes an event to the outbox inside `tx` and NOTIFYs the relay (Postgres
 * delivers the notification only when `tx` commits). Returns the event id.
 */
export async function enqueueEvent<Desc extends DescMessage>(
  tx: Database,
  outbox: OutboxTable,
  event: EventType<Desc>,
  value: MessageInitShape<Desc>,
): Promise<string> {
  const [id] = await enqueueEvents(tx, outbox, event, [value]);
  return id!;
}

/**
 * Several events of one subject in one statement (a fan-out such as one
 * notification per group member must not cost a round trip per member).
 * Returns the event ids in the order of `values`.
 */
export async function enqueueEvents<Desc extends DescMessage>(
  tx: Database,
  outbox: OutboxTable,
  event: EventType<Desc>,
  values: MessageInitShape<Desc>[],
): Promise<string[]> {
  const events = await enqueueOutboxEvents(tx, outbox, event, values, { notifyRelay: true });
  return events.map((event) => event.id);
}

export interface EnqueueOptions {
  /**
   * NOTIFY the relay on commit. Off for events the caller hands to
   * `OutboxFastPath.publishCommitted` after commit: waking the relay for rows
   * it must leave alone costs a batch (three round trips) per event.
   */
  notifyRelay: boolean;
}

/** `enqueueEvents`, returning the rows for `OutboxFastPath.publishCommitted`. */
export async function enqueueOutboxEvents<Desc extends DescMessage>(
  tx: Database,
  outbox: OutboxTable,
  event: EventType<Desc>,
  values: MessageInitShape<Desc>[],
  options: EnqueueOptions,
): Promise<OutboxEvent[]> {
  if (values.length === 0) return [];
  const rows = values.map((value) => outboxEvent(event, value));
  const insert = tx.insert(outbox).values(rows.map((row) => ({ ...row })));
  if (options.notifyRelay) {
    const schemaName = getTableConfig(outbox).schema ?? "public";
    // One statement, not two: on hot paths (SendMessage holds a row lock
    // meanwhile) every round trip counts.
    await tx.execute(
      // drizzle parenthesises the embedded insert, which is the CTE body.
      sql`with queued as ${insert} select pg_notify(${outboxChannel(schemaName)}, '')`,
    );
  } else {
    await insert;
  }
  return rows;
}

export function decodeEvent<Desc extends DescMessage>(schema: Desc, msg: BusMessage): MessageShape<Desc> {
  try {
    return fromBinary(schema, msg.data);
  } catch (err) {
    throw new Error(`cannot decode ${schema.typeName} from event ${msg.id} on ${msg.subject}`, { cause: err });
  }
}

export interface OutboxRelayOptions {
  database: DatabaseHandle;
  bus: EventBus;
  outbox: OutboxTable;
  schemaName: string;
  logger: Logger;
  /** Where the parked-event metrics go (`outbox_parked_events`, `outbox_parked_events_total`). */
  metrics?: Registry;
  /** Failures of one row, counted while the broker answers pings, before it is parked. Default `MAX_PUBLISH_ATTEMPTS` (10). */
  maxPublishAttempts?: number;
  /** Poll interval when no NOTIFY arrives (a missed notification, a dropped LISTEN connection). Default 500 ms. */
  pollMs?: number;
  /**
   * The service's fast path, if it publishes committed events itself. While
   * it is open the relay takes only rows older than `graceMs` that no younger
   * row precedes in id order (rows the fast path did not get to: a crash, a
   * lost delete), except right after a NOTIFY
   * (an enqueue the fast path does not publish); while it is closed (a
   * publish failed), rows of any age, reopening it once the outbox is empty.
   */
  fastPath?: OutboxFastPath;
  /** Age before the relay takes a row the fast path may still be publishing. Default 2 s. */
  graceMs?: number;
  /**
   * For a service that stores some events in a shorter form than it publishes
   * them (chat keeps a message's recipient list out of its row; the fast path
   * publishes the whole event from memory): turns the rows of a batch into what
   * goes on the bus, in the batch's transaction. Rows keep their ids (the
   * Nats-Msg-Id). A failure fails the batch, which is retried in order.
   */
  completeRows?: (tx: Database, rows: OutboxRow[]) => Promise<OutboxRow[]>;
}

export interface OutboxRelay {
  /** Stops polling; resolves after the batch in progress committed or rolled back. */
  stop(): Promise<void>;
  /** Rows parked in this outbox (not being published). */
  parkedCount(): Promise<number>;
  /**
   * For /readyz's `degraded` section: a message while rows are parked, else
   * undefined. Deliberately not a readiness failure: one bad row would take
   * every replica out of the load balancer while the rest works.
   */
  degraded(): Promise<string | undefined>;
}

const MAX_BACKOFF_MS = 5_000;

/**
 * Publishes outbox rows in batches. Rows are locked with FOR UPDATE SKIP
 * LOCKED and deleted after publishing, never tracked with an `id > cursor`:
 * transactions commit out of id order, and a cursor would skip the row of a
 * transaction that committed late. SKIP LOCKED also lets several replicas
 * relay the same outbox without blocking each other.
 *
 * Failures are per row (see outbox-publish.ts): published rows are deleted
 * even when a later row fails, so nothing is published twice; a row the
 * broker refuses for good is parked and the rest flows on; any other failure
 * stops the outbox at that row (in order: no later event overtakes it) and is
 * retried with a backoff, parked only after `MAX_PUBLISH_ATTEMPTS` failures
 * counted while the broker answered pings. A broker outage parks nothing.
 */
export function startOutboxRelay(opts: OutboxRelayOptions): OutboxRelay {
  const { database, bus, outbox, schemaName } = opts;
  const pollMs = opts.pollMs ?? 500;
  const { fastPath } = opts;
  const graceMs = opts.graceMs ?? 2_000;
  const maxAttempts = opts.maxPublishAttempts ?? MAX_PUBLISH_ATTEMPTS;
  const logger = opts.logger.child({ component: "outbox-relay", schema: schemaName });
  const metrics = opts.metrics ? outboxMetrics(opts.metrics) : undefined;
  const stopSignal = new AbortController();
  let wake: (() => void) | undefined;
  let notified = false;
  // A NOTIFY since the last batch: a commit whose rows no fast path publishes, to be taken at once.
  let rowsForTheRelay = false;
  const onNotify = (): void => {
    notified = true;
    rowsForTheRelay = true;
    wake?.();
  };
  const unlisten = database.listen(outboxChannel(schemaName), onNotify).catch((err: unknown) => {
    logger.warn({ err }, "LISTEN failed; relying on polling");
    return undefined;
  });

  async function parkedCount(): Promise<number> {
    const [row] = await database.db
      .select({ n: sql<number>`count(*)::int` })
      .from(outbox)
      .where(sql`${outbox.parkedAt} is not null`);
    return Number(row?.n ?? 0);
  }
  const unregister = metrics?.track(schemaName, parkedCount);

  // Only rows before the first young one in id order, not every old row: a
  // row's age is its transaction's start, so an old row can follow a young
  // one in commit order (it waited for a lock), and taking it alone would
  // publish it ahead of the young one the fast path is about to publish.
  const olderThanEveryYoungRow = sql`not exists (select 1 from ${outbox} as young where young.parked_at is null
    and young.created_at >= now() - ${graceMs}::int * interval '1 millisecond' and young.id <= ${outbox.id})`;

  async function publishBatch(): Promise<{ progressed: number; blocked: boolean }> {
    const leftToRelay = fastPath?.leftToRelay ?? 0;
    // Young rows racing the fast path cost duplicate publishes (the broker drops them), not order.
    const leaveYoungRows = fastPath?.open === true && !rowsForTheRelay;
    rowsForTheRelay = false;
    return database.db.transaction(async (tx) => {
      const rows: OutboxRow[] = await tx
        .select({ id: outbox.id, subject: outbox.subject, payload: outbox.payload, attempts: outbox.attempts })
        .from(outbox)
        .where(
          leaveYoungRows ? sql`${outbox.parkedAt} is null and ${olderThanEveryYoungRow}` : sql`${outbox.parkedAt} is null`,
        )
        .orderBy(outbox.id)
        .limit(BATCH_SIZE)
        .for("update", { skipLocked: true });
      if (rows.length === 0) {
        if (fastPath?.open === false) fastPath.reopen(leftToRelay);
        return { progressed: 0, blocked: false };
      }
      const completed = opts.completeRows ? await opts.completeRows(tx, rows) : rows;
      const result = await publishOutboxBatch(tx, outbox, bus, completed, logger, maxAttempts);
      for (let i = 0; i < result.parked; i++) metrics?.parkedTotal.inc({ schema: schemaName });
      return { progressed: result.published + result.parked, blocked: result.blocked };
    });
  }

  function idle(ms: number, wakeOnNotify: boolean): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        stopSignal.signal.removeEventListener("abort", done);
        wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      stopSignal.signal.addEventListener("abort", done);
      if (wakeOnNotify) wake = done;
    });
  }

  async function loop(): Promise<void> {
    let failures = 0;
    while (!stopSignal.signal.aborted) {
      notified = false;
      let outcome: { progressed: number; blocked: boolean };
      try {
        outcome = await publishBatch();
      } catch (err) {
        outcome = { progressed: 0, blocked: true };
        logger.warn({ err }, "outbox batch failed; rows kept for retry");
      }
      if (outcome.blocked) {
        failures++;
        const backoffMs = Math.min(100 * 2 ** failures, MAX_BACKOFF_MS);
        logger.debug({ failures, backoffMs }, "outbox blocked; backing off");
        await idle(backoffMs, false);
        continue;
      }
      failures = 0;
      // More rows may be waiting (a full batch, or rows locked by a concurrent batch): go again at once.
      if (outcome.progressed > 0 || notified) continue;
      await idle(pollMs, true);
    }
  }

  const running = loop();
  return {
    async stop() {
      stopSignal.abort();
      await running;
      unregister?.();
      await (await unlisten)?.();
    },
    parkedCount,
    async degraded() {
      const n = await parkedCount();
      return n === 0 ? undefined : `${n} parked outbox event(s) in ${schemaName}; see \`parley-events outbox list ${schemaName}\``;
    },
  };
}

const BATCH_SIZE = 100;
