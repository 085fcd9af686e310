/** Paged reads of a user's friends, pending requests and blocks, joined with the other users' rows. */
import { and, asc, desc, eq, or, sql, type SQL } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import type { Database } from "@parley/platform";
import type { Page } from "../domain/pagination.js";
import { blocks, friendRequests, friendships, users, type FriendRequestRow, type UserRow } from "./schema.js";

/** `limit + 1` rows: the extra one tells pageOf() whether there is a next page. */
export function listFriends(db: Database, me: string, page: Page): Promise<Array<{ user: UserRow; since: Date }>> {
  const otherId = sql`case when ${friendships.userAId} = ${me} then ${friendships.userBId} else ${friendships.userAId} end`;
  return db
    .select({ user: users, since: friendships.createdAt })
    .from(friendships)
    .innerJoin(users, sql`${users.id} = ${otherId}`)
    .where(or(eq(friendships.userAId, me), eq(friendships.userBId, me)))
    .orderBy(desc(friendships.createdAt), asc(users.id))
    .limit(page.limit + 1)
    .offset(page.offset);
}

export type RequestDirection = "incoming" | "outgoing" | "both";

export interface RequestWithUsers {
  request: FriendRequestRow;
  from: UserRow;
  to: UserRow;
}

const fromUser = alias(users, "from_user");
const toUser = alias(users, "to_user");

function requestsWithUsers(db: Database) {
  return db
    .select({ request: friendRequests, from: fromUser, to: toUser })
    .from(friendRequests)
    .innerJoin(fromUser, eq(fromUser.id, friendRequests.fromUserId))
    .innerJoin(toUser, eq(toUser.id, friendRequests.toUserId));
}

export function listPendingRequests(db: Database, me: string, direction: RequestDirection, page: Page): Promise<RequestWithUsers[]> {
  const mine: Record<RequestDirection, SQL | undefined> = {
    incoming: eq(friendRequests.toUserId, me),
    outgoing: eq(friendRequests.fromUserId, me),
    both: or(eq(friendRequests.toUserId, me), eq(friendRequests.fromUserId, me)),
  };
  return requestsWithUsers(db)
    .where(and(eq(friendRequests.status, "pending"), mine[direction]))
    .orderBy(desc(friendRequests.createdAt), asc(friendRequests.id))
    .limit(page.limit + 1)
    .offset(page.offset);
}

export async function findRequestWithUsers(db: Database, requestId: string): Promise<RequestWithUsers | undefined> {
  const [row] = await requestsWithUsers(db).where(eq(friendRequests.id, requestId)).limit(1);
  return row;
}

export async function listBlockedUsers(db: Database, me: string): Promise<UserRow[]> {
  const rows = await db
    .select({ user: users })
    .from(blocks)
    .innerJoin(users, eq(users.id, blocks.blockedId))
    .where(eq(blocks.blockerId, me))
    .orderBy(desc(blocks.createdAt), asc(users.id));
  return rows.map((r) => r.user);
}
