/** The block projection, fed by identity's block.created|removed events. */
import { and, eq, inArray, sql } from "drizzle-orm";
import type { Database } from "@parley/platform";
import { blocks } from "./schema.js";

export async function recordBlock(tx: Database, blockerId: string, blockedId: string): Promise<void> {
  await tx.insert(blocks).values({ blockerId, blockedId }).onConflictDoNothing();
}

export async function removeBlock(tx: Database, blockerId: string, blockedId: string): Promise<void> {
  await tx.delete(blocks).where(and(eq(blocks.blockerId, blockerId), eq(blocks.blockedId, blockedId)));
}

export interface BlockEdge {
  blockerId: string;
  blockedId: string;
}

/**
 * Replaces the blocks with after < (blocker, blocked) <= through (unset =
 * open) by `edges`: identity's periodic graph slices, which repair what lost
 * events left wrong. The columns are text; ids are lower-case UUIDs, whose
 * text order is the uuid order identity slices by.
 */
export async function replaceBlockRange(tx: Database, after: BlockEdge | undefined, through: BlockEdge | undefined, edges: BlockEdge[]): Promise<void> {
  // Byte order ("C"): a locale collation may skip the '-' and disagree with identity's uuid order.
  const key = sql`(${blocks.blockerId} collate "C", ${blocks.blockedId} collate "C")`;
  const bound = (e: BlockEdge) => sql`(${e.blockerId}::text collate "C", ${e.blockedId}::text collate "C")`;
  await tx.delete(blocks).where(and(after ? sql`${key} > ${bound(after)}` : undefined, through ? sql`${key} <= ${bound(through)}` : undefined));
  if (edges.length > 0) await tx.insert(blocks).values(edges).onConflictDoNothing();
}

/** Which of `userIds` have blocked `actorId`. */
export async function usersBlocking(db: Database, userIds: string[], actorId: string): Promise<Set<string>> {
  if (userIds.length === 0) return new Set();
  const rows = await db
    .select({ blockerId: blocks.blockerId })
    .from(blocks)
    .where(and(eq(blocks.blockedId, actorId), inArray(blocks.blockerId, userIds)));
  return new Set(rows.map((r) => r.blockerId));
}
