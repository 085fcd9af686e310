/** The block projection, fed by identity's block.created|removed events. */
import { and, eq, inArray } from "drizzle-orm";
import type { Database } from "@parley/platform";
import { blocks } from "./schema.js";

export async function recordBlock(tx: Database, blockerId: string, blockedId: string): Promise<void> {
  await tx.insert(blocks).values({ blockerId, blockedId }).onConflictDoNothing();
}

export async function removeBlock(tx: Database, blockerId: string, blockedId: string): Promise<void> {
  await tx.delete(blocks).where(and(eq(blocks.blockerId, blockerId), eq(blocks.blockedId, blockedId)));
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
