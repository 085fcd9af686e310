/** Chat's projection of identity's social graph, and the checks built on it. */
import { and, eq, inArray, or, sql } from "drizzle-orm";
import type { Database } from "@parley/platform";
import { blocks, friendships, members } from "./schema.js";

function orderedPair(x: string, y: string): [string, string] {
  return x < y ? [x, y] : [y, x];
}

export async function setFriendship(tx: Database, x: string, y: string, present: boolean): Promise<void> {
  if (x === y) return;
  const [userA, userB] = orderedPair(x, y);
  if (present) {
    await tx.insert(friendships).values({ userA, userB }).onConflictDoNothing();
  } else {
    await tx.delete(friendships).where(and(eq(friendships.userA, userA), eq(friendships.userB, userB)));
  }
}

export async function setBlock(tx: Database, blockerId: string, blockedId: string, present: boolean): Promise<void> {
  if (blockerId === blockedId) return;
  if (present) {
    await tx.insert(blocks).values({ blockerId, blockedId }).onConflictDoNothing();
  } else {
    await tx.delete(blocks).where(and(eq(blocks.blockerId, blockerId), eq(blocks.blockedId, blockedId)));
  }
}

export interface GraphEdge {
  first: string;
  second: string;
}

/**
 * Replaces the projection's edges of one kind with after < (first, second)
 * <= through (unset bound = open) by `edges`: identity's periodic slices,
 * which repair whatever lost events left wrong.
 */
export async function replaceEdgeRange(
  tx: Database,
  kind: "friendship" | "block",
  range: { after: GraphEdge | undefined; through: GraphEdge | undefined },
  edges: GraphEdge[],
): Promise<void> {
  const [table, first, second] = kind === "friendship" ? [friendships, friendships.userA, friendships.userB] : [blocks, blocks.blockerId, blocks.blockedId];
  const bounds = [
    range.after ? sql`(${first}, ${second}) > (${range.after.first}::uuid, ${range.after.second}::uuid)` : undefined,
    range.through ? sql`(${first}, ${second}) <= (${range.through.first}::uuid, ${range.through.second}::uuid)` : undefined,
  ];
  await tx.delete(table).where(and(...bounds));
  if (edges.length === 0) return;
  if (kind === "friendship") {
    await tx.insert(friendships).values(edges.map((e) => ({ userA: e.first, userB: e.second }))).onConflictDoNothing();
  } else {
    await tx.insert(blocks).values(edges.map((e) => ({ blockerId: e.first, blockedId: e.second }))).onConflictDoNothing();
  }
}

/** Which of `others` are friends of `me`. */
export async function friendsAmong(db: Database, me: string, others: string[]): Promise<Set<string>> {
  const lower = others.filter((o) => o < me);
  const higher = others.filter((o) => o > me);
  const found = new Set<string>();
  if (higher.length > 0) {
    const rows = await db
      .select({ other: friendships.userB })
      .from(friendships)
      .where(and(eq(friendships.userA, me), inArray(friendships.userB, higher)));
    for (const r of rows) found.add(r.other);
  }
  if (lower.length > 0) {
    const rows = await db
      .select({ other: friendships.userA })
      .from(friendships)
      .where(and(eq(friendships.userB, me), inArray(friendships.userA, lower)));
    for (const r of rows) found.add(r.other);
  }
  return found;
}

/** Which of `others` have blocked `me` or been blocked by `me`. */
export async function blockedEitherWayAmong(db: Database, me: string, others: string[]): Promise<Set<string>> {
  if (others.length === 0) return new Set();
  const rows = await db
    .select({ blockerId: blocks.blockerId, blockedId: blocks.blockedId })
    .from(blocks)
    .where(
      or(
        and(eq(blocks.blockerId, me), inArray(blocks.blockedId, others)),
        and(eq(blocks.blockedId, me), inArray(blocks.blockerId, others)),
      ),
    );
  return new Set(rows.map((r) => (r.blockerId === me ? r.blockedId : r.blockerId)));
}

export async function blockedEitherWay(db: Database, x: string, y: string): Promise<boolean> {
  return (await blockedEitherWayAmong(db, x, [y])).size > 0;
}

/** Whether `conversation` is a direct chat whose two members have a block between them, either way. */
export function directPairBlocked(db: Database, conversation: { kind: string; directLo: string | null; directHi: string | null }): Promise<boolean> {
  const { kind, directLo: lo, directHi: hi } = conversation;
  if (kind !== "direct" || lo === null || hi === null) return Promise.resolve(false);
  return blockedEitherWay(db, lo, hi);
}

/**
 * Whether the invite's creator or any current admin of the conversation has
 * blocked `joinerId`: the people who decide who is in a group.
 */
export async function blockedByInviteAuthority(
  db: Database,
  conversationId: string,
  inviteCreatorId: string,
  joinerId: string,
): Promise<boolean> {
  const admins = db
    .select({ id: members.userId })
    .from(members)
    .where(and(eq(members.conversationId, conversationId), eq(members.role, "admin")));
  const [row] = await db
    .select({ blocked: sql<boolean>`true` })
    .from(blocks)
    .where(and(eq(blocks.blockedId, joinerId), or(eq(blocks.blockerId, inviteCreatorId), inArray(blocks.blockerId, admins))))
    .limit(1);
  return row !== undefined;
}
