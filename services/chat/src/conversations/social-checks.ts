/** Who may be put into a conversation with whom, from chat's social-graph projection. */
import { Code, ConnectError } from "@connectrpc/connect";
import type { Database } from "@parley/platform";
import type { ConversationRow } from "../store/schema.js";
import { blockedEitherWayAmong, directPairBlocked, friendsAmong } from "../store/social-graph.js";

/** Same answer as SendMessage's, whoever blocked whom, so the blocked user can't tell. */
export function cantMessage(): ConnectError {
  return new ConnectError("you can't message this user", Code.PermissionDenied);
}

/**
 * In a direct chat with a block either way, nothing either side writes may
 * reach the other: send, edit and delete are refused alike.
 */
export async function requireNoBlockInDirect(db: Database, conversation: ConversationRow): Promise<void> {
  if (await directPairBlocked(db, conversation)) throw cantMessage();
}

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
