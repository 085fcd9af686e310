/** Account rows. Lookups compare lower() so they hit the unique expression indexes. */
import { eq, sql } from "drizzle-orm";
import type { Database } from "@parley/platform";
import { users, type UserRow } from "./schema.js";

export async function insertUser(
  tx: Database,
  values: { id: string; email: string; username: string; displayName: string; passwordHash: string },
): Promise<UserRow> {
  const [row] = await tx.insert(users).values(values).returning();
  if (!row) throw new Error("insert into users returned no row");
  return row;
}

export async function findUserById(db: Database, id: string): Promise<UserRow | undefined> {
  const [row] = await db.select().from(users).where(eq(users.id, id)).limit(1);
  return row;
}

export async function findUserByEmail(db: Database, email: string): Promise<UserRow | undefined> {
  const [row] = await db
    .select()
    .from(users)
    .where(sql`lower(${users.email}) = ${email.toLowerCase()}`)
    .limit(1);
  return row;
}

export async function findUserByUsername(db: Database, username: string): Promise<UserRow | undefined> {
  const [row] = await db
    .select()
    .from(users)
    .where(sql`lower(${users.username}) = ${username.toLowerCase()}`)
    .limit(1);
  return row;
}

export async function markEmailVerified(tx: Database, userId: string): Promise<UserRow> {
  const [row] = await tx
    .update(users)
    .set({ emailVerifiedAt: sql`coalesce(${users.emailVerifiedAt}, now())` })
    .where(eq(users.id, userId))
    .returning();
  if (!row) throw new Error("verified user vanished");
  return row;
}

export async function updateUserProfile(
  tx: Database,
  userId: string,
  changes: { username?: string; displayName?: string },
): Promise<UserRow | undefined> {
  const [row] = await tx.update(users).set(changes).where(eq(users.id, userId)).returning();
  return row;
}
