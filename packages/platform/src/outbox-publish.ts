/**
 * One relay batch, failure by failure. The rows are published pipelined (one
 * connection keeps them in order, the batch costs one round trip), then
 * settled strictly in id order:
 * - published: deleted, whatever happened to its neighbours, so a later retry
 *   never publishes it again (the broker's dedupe window is minutes; a blocked
 *   outbox can outlast it);
 * - refused for good (`UnpublishableEventError`): parked, the rest flows on;
 * - any other failure: the outbox stops at this row. Rows after it that the
 *   broker did not take stay queued behind it, so no later event overtakes a
 *   row that may still go out. Its `attempts` grows only when the broker
 *   answered (not a `BrokerUnavailableError` such as a timeout) and answers a
 *   ping now (a broker outage is not the row's fault), and at
 *   `maxAttempts` (default `MAX_PUBLISH_ATTEMPTS`) it is parked.
 * Rows after a failed one that the broker did take are deleted too: they are
 * out, and publishing them again would deliver them twice. So a broker that
 * refuses one publish of a pipelined batch and accepts a later one can put
 * that later event first. Over one NATS connection publishes are stored in
 * order and an outage fails everything behind the first failure, so that
 * takes a per-event refusal, and those (size, subject) are parked anyway.
 */
import { inArray, sql } from "drizzle-orm";
import type { Logger } from "pino";
import { BrokerUnavailableError, UnpublishableEventError } from "./bus/errors.js";
import type { OutboxTable } from "./outbox.js";
import type { Database, EventBus } from "./types.js";

/** Failures of one row, with the broker healthy, before it is parked (≈ 30 s with the relay's backoff). */
export const MAX_PUBLISH_ATTEMPTS = 10;

export interface OutboxRow {
  id: string;
  subject: string;
  payload: Uint8Array;
  attempts: number;
}

export interface BatchResult {
  published: number;
  parked: number;
  /** A row failed transiently: back off before the next batch. */
  blocked: boolean;
}

function errorText(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, depth = 0; e !== undefined && depth < 4; depth++) {
    parts.push(e instanceof Error ? e.message : String(e));
    e = e instanceof Error ? e.cause : undefined;
  }
  return parts.join(": ").slice(0, 1_000);
}

function causedBy(err: unknown, kind: typeof UnpublishableEventError | typeof BrokerUnavailableError): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 4; depth++, e = e.cause) {
    if (e instanceof kind) return true;
  }
  return false;
}

async function brokerAnswers(bus: EventBus): Promise<boolean> {
  try {
    await bus.ping();
    return true;
  } catch {
    return false;
  }
}

export async function publishOutboxBatch(tx: Database, outbox: OutboxTable, bus: EventBus, rows: OutboxRow[], logger: Logger, maxAttempts = MAX_PUBLISH_ATTEMPTS): Promise<BatchResult> {
  const results = await Promise.allSettled(rows.map((r) => bus.publish(r.subject, r.payload, r.id)));
  const published: string[] = [];
  let parked = 0;
  let blocked = false;
  for (const [i, row] of rows.entries()) {
    const result = results[i]!;
    if (result.status === "fulfilled") {
      published.push(row.id);
      continue;
    }
    if (blocked) continue; // queued behind the failing row
    const err: unknown = result.reason;
    const fields = { eventId: row.id, subject: row.subject, bytes: row.payload.byteLength };
    if (causedBy(err, UnpublishableEventError)) {
      await park(tx, outbox, row, err);
      parked++;
      logger.error({ ...fields, err }, "outbox event refused by the broker for good; parked");
      continue;
    }
    blocked = true;
    // A timeout during an outage may only be seen once the broker is back: judge by the error first.
    if (causedBy(err, BrokerUnavailableError) || !(await brokerAnswers(bus))) {
      logger.warn({ ...fields, err }, "broker unavailable; outbox waits in order");
      continue;
    }
    if (row.attempts + 1 >= maxAttempts) {
      await park(tx, outbox, row, err);
      parked++;
      blocked = false; // the rows behind it may go now
      logger.error({ ...fields, err, attempts: row.attempts + 1 }, "outbox event failed too often with the broker up; parked");
      continue;
    }
    await tx
      .update(outbox)
      .set({ attempts: sql`${outbox.attempts} + 1`, lastError: errorText(err) })
      .where(inArray(outbox.id, [row.id]));
    logger.warn({ ...fields, err, attempts: row.attempts + 1 }, "outbox event publish failed; retrying in order");
  }
  if (published.length > 0) await tx.delete(outbox).where(inArray(outbox.id, published));
  return { published: published.length, parked, blocked };
}

async function park(tx: Database, outbox: OutboxTable, row: OutboxRow, err: unknown): Promise<void> {
  await tx
    .update(outbox)
    .set({ attempts: sql`${outbox.attempts} + 1`, lastError: errorText(err), parkedAt: new Date() })
    .where(inArray(outbox.id, [row.id]));
}
