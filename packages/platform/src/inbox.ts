/**
 * Consumer-side idempotency: the id of each processed event is recorded in
 * the same transaction as its effects, so a redelivered event is a no-op.
 */
import { index, primaryKey, text, timestamp, type PgSchema } from "drizzle-orm/pg-core";
import type { Database } from "./types.js";

export function inboxTable(schema: PgSchema) {
  return schema.table(
    "processed_events",
    {
      consumer: text("consumer").notNull(),
      eventId: text("event_id").notNull(),
      processedAt: timestamp("processed_at", { withTimezone: true }).notNull().defaultNow(),
    },
    // processed_at: retention deletes by age (retention.ts).
    (t) => [primaryKey({ columns: [t.consumer, t.eventId] }), index("processed_events_processed_at_idx").on(t.processedAt)],
  );
}

export type InboxTable = ReturnType<typeof inboxTable>;

/**
 * Runs `fn` in a transaction unless `consumer` already processed `eventId`;
 * returns whether it ran. If `fn` throws, the marker rolls back with its
 * effects, so the redelivery retries. A concurrent duplicate blocks on the
 * uncommitted marker and then sees the conflict.
 */
export async function handleOnce(
  db: Database,
  inbox: InboxTable,
  consumer: string,
  eventId: string,
  fn: (tx: Database) => Promise<void>,
): Promise<boolean> {
  return db.transaction(async (tx) => {
    const marked = await tx.insert(inbox).values({ consumer, eventId }).onConflictDoNothing().returning({ eventId: inbox.eventId });
    if (marked.length === 0) return false;
    await fn(tx);
    return true;
  });
}
