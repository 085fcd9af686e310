/** Who may be put into a conversation with whom, from chat's social-graph projection. */
import { Code, ConnectError } from "@connectrpc/connect";
import type { Database } from "@parley/platform";
import { blockedEitherWayAmong, friendsAmong } from "../store/social-graph.js";

/** Every id must be a friend of `me`, with no block in either direction. */
export async function requireAddableFriends(db: Database, me: string, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  const friends = await friendsAmong(db, me, ids);
  const notFriend = ids.find((id) => !friends.has(id));
  if (notFriend !== undefined) {
    throw new ConnectError(`user ${notFriend} is not your friend`, Code.FailedPrecondition);
  }
  const blocked = await blockedEitherWayAmong(db, me, ids);
  const firstBlocked = ids.find((id) => blocked.has(id));
  if (firstBlocked !== undefined) {
    throw new ConnectError(`you can't add user ${firstBlocked}`, Code.PermissionDenied);
  }
}
