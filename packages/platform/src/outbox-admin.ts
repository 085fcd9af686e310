/**
 * Operator actions on parked outbox rows (see outbox.ts): list them, put them
 * back in line (the relay publishes them next, they are the oldest ids), or
 * drop them. Used by `parley-events outbox …`.
 */
import { sql } from "drizzle-orm";
import { outboxChannel } from "./outbox.js";
import type { Database } from "./types.js";

export interface ParkedRow {
  id: string;
  subject: string;
  bytes: number;
  attempts: number;
  lastError: string | null;
  parkedAt: string;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]*$/;

function outboxOf(schema: string) {
  if (!SCHEMA_NAME.test(schema)) throw new Error(`"${schema}" is not a schema name (identity, chat, notification)`);
  return sql`${sql.identifier(schema)}.outbox`;
}

function rowsOf<T>(result: unknown): T[] {
  return (result as { rows: T[] }).rows;
}

export async function listParked(db: Database, schema: string, limit = 100): Promise<ParkedRow[]> {
  const result = await db.execute(sql`
    select id, subject, octet_length(payload)::int as bytes, attempts, last_error as "lastError", parked_at::text as "parkedAt"
    from ${outboxOf(schema)} where parked_at is not null order by id limit ${limit}`);
  return rowsOf<ParkedRow>(result);
}

/** Un-parks the given rows (or all): attempts start again from 0. Returns how many. */
export async function unparkRows(db: Database, schema: string, ids: string[] | "all"): Promise<number> {
  const which = ids === "all" ? sql`true` : sql`id in (${sql.join(ids.map((id) => sql`${id}`), sql`, `)})`;
  if (ids !== "all" && ids.length === 0) return 0;
  return db.transaction(async (tx) => {
    const result = await tx.execute(sql`
      update ${outboxOf(schema)} set parked_at = null, attempts = 0, last_error = null
      where parked_at is not null and ${which} returning id`);
    await tx.execute(sql`select pg_notify(${outboxChannel(schema)}, '')`);
    return rowsOf<{ id: string }>(result).length;
  });
}

/** Deletes parked rows for good. Returns how many. */
export async function dropParked(db: Database, schema: string, ids: string[]): Promise<number> {
  if (ids.length === 0) return 0;
  const result = await db.execute(sql`
    delete from ${outboxOf(schema)} where parked_at is not null and id in (${sql.join(ids.map((id) => sql`${id}`), sql`, `)}) returning id`);
  return rowsOf<{ id: string }>(result).length;
}
