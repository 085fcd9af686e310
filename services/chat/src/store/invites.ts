/** Invite codes. */
import { eq, sql } from "drizzle-orm";
import type { Database } from "@parley/platform";
import { invites, type InviteRow } from "./schema.js";

export async function insertInvite(tx: Database, values: typeof invites.$inferInsert): Promise<InviteRow> {
  const [row] = await tx.insert(invites).values(values).returning();
  if (row === undefined) throw new Error("insert returned no row");
  return row;
}

export async function findInvite(db: Database, code: string, opts: { lock?: boolean } = {}): Promise<InviteRow | undefined> {
  const query = db.select().from(invites).where(eq(invites.code, code));
  const [row] = opts.lock === true ? await query.for("update") : await query;
  return row;
}

export async function revokeInvite(tx: Database, code: string): Promise<void> {
  await tx.update(invites).set({ revokedAt: sql`coalesce(${invites.revokedAt}, clock_timestamp())` }).where(eq(invites.code, code));
}

export async function countInviteUse(tx: Database, code: string): Promise<void> {
  await tx.update(invites).set({ uses: sql`${invites.uses} + 1` }).where(eq(invites.code, code));
}
