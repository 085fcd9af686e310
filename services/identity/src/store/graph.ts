/** The social graph: blocks, friendships and friend requests between two users. */
import { and, eq, or, sql } from "drizzle-orm";
import type { Database } from "@parley/platform";
import { orderedPair, type OrderedPair } from "../domain/pair.js";
import { blocks, friendRequests, friendships, type FriendRequestRow, type FriendRequestStatusName } from "./schema.js";

/**
 * Serialises every graph change between two users (request, accept, block,
 * unfriend) for the rest of the transaction. Without it, "not blocked" and
 * "insert request" could interleave with a concurrent block. Transaction-scoped
 * advisory locks need no cleanup; the key is the same for (a, b) and (b, a).
 */
export async function lockPair(tx: Database, x: string, y: string): Promise<void> {
  const { userAId, userBId } = orderedPair(x, y);
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`identity.pair:${userAId}:${userBId}`}, 0))`);
}

/** Whether either user blocked the other (callers never say which). */
export async function blockedEitherWay(db: Database, x: string, y: string): Promise<boolean> {
  const rows = await db
    .select({ blockerId: blocks.blockerId })
    .from(blocks)
    .where(
      or(
        and(eq(blocks.blockerId, x), eq(blocks.blockedId, y)),
        and(eq(blocks.blockerId, y), eq(blocks.blockedId, x)),
      ),
    )
    .limit(1);
  return rows.length > 0;
}

export async function hasBlocked(db: Database, blockerId: string, blockedId: string): Promise<boolean> {
  const rows = await db
    .select({ blockerId: blocks.blockerId })
    .from(blocks)
    .where(and(eq(blocks.blockerId, blockerId), eq(blocks.blockedId, blockedId)))
    .limit(1);
  return rows.length > 0;
}

/** True if a block row was created (false: it already existed). */
export async function insertBlock(tx: Database, blockerId: string, blockedId: string): Promise<boolean> {
  const rows = await tx.insert(blocks).values({ blockerId, blockedId }).onConflictDoNothing().returning({ b: blocks.blockerId });
  return rows.length > 0;
}

/** True if a block row was removed. */
export async function deleteBlock(tx: Database, blockerId: string, blockedId: string): Promise<boolean> {
  const rows = await tx
    .delete(blocks)
    .where(and(eq(blocks.blockerId, blockerId), eq(blocks.blockedId, blockedId)))
    .returning({ b: blocks.blockerId });
  return rows.length > 0;
}

export async function areFriends(db: Database, x: string, y: string): Promise<boolean> {
  const { userAId, userBId } = orderedPair(x, y);
  const rows = await db
    .select({ a: friendships.userAId })
    .from(friendships)
    .where(and(eq(friendships.userAId, userAId), eq(friendships.userBId, userBId)))
    .limit(1);
  return rows.length > 0;
}

/** True if the friendship was created (false: they already were friends). */
export async function insertFriendship(tx: Database, pair: OrderedPair): Promise<boolean> {
  const rows = await tx.insert(friendships).values(pair).onConflictDoNothing().returning({ a: friendships.userAId });
  return rows.length > 0;
}

/** The removed pair, or undefined if they weren't friends. */
export async function deleteFriendship(tx: Database, x: string, y: string): Promise<OrderedPair | undefined> {
  const pair = orderedPair(x, y);
  const rows = await tx
    .delete(friendships)
    .where(and(eq(friendships.userAId, pair.userAId), eq(friendships.userBId, pair.userBId)))
    .returning({ a: friendships.userAId });
  return rows.length > 0 ? pair : undefined;
}

/** The pending request between the two, in either direction. */
export async function findPendingRequestBetween(db: Database, x: string, y: string): Promise<FriendRequestRow | undefined> {
  const [row] = await db
    .select()
    .from(friendRequests)
    .where(
      and(
        eq(friendRequests.status, "pending"),
        or(
          and(eq(friendRequests.fromUserId, x), eq(friendRequests.toUserId, y)),
          and(eq(friendRequests.fromUserId, y), eq(friendRequests.toUserId, x)),
        ),
      ),
    )
    .limit(1);
  return row;
}

export async function insertFriendRequest(
  tx: Database,
  values: { id: string; fromUserId: string; toUserId: string },
): Promise<FriendRequestRow> {
  const [row] = await tx.insert(friendRequests).values(values).returning();
  if (!row) throw new Error("insert into friend_requests returned no row");
  return row;
}


export async function findFriendRequest(db: Database, id: string): Promise<FriendRequestRow | undefined> {
  const [row] = await db.select().from(friendRequests).where(eq(friendRequests.id, id)).limit(1);
  return row;
}

/** Moves a pending request to a final status; undefined if it was no longer pending. */
export async function closeFriendRequest(
  tx: Database,
  id: string,
  status: Exclude<FriendRequestStatusName, "pending">,
): Promise<FriendRequestRow | undefined> {
  const [row] = await tx
    .update(friendRequests)
    .set({ status, respondedAt: sql`now()` })
    .where(and(eq(friendRequests.id, id), eq(friendRequests.status, "pending")))
    .returning();
  return row;
}
