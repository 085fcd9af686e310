/**
 * What a conversation change delivered to a socket ends on this node, at the
 * moment it is delivered. Every node maps a member_removed to REMOVED for the
 * removed user's sockets and UPDATED for the others (frame-routes.ts), so
 * handling it where event-delivery.ts hands the frame to a socket acts on
 * every node, and before anything that node delivers afterwards:
 *
 * - REMOVED: the socket's presence subscription of that conversation is
 *   dropped (a client that does not unsubscribe itself would otherwise keep
 *   watching the members), its typing member cache entry is dropped (its own
 *   next signal asks chat again and is refused), and the conversation is
 *   remembered as left, so typing frames of it still in flight (published from
 *   another typer's cache before the removal reached their node) and a
 *   PresenceSubscribe still waiting for chat's answer are dropped too.
 * - ADDED: forgets that mark (re-added).
 * - UPDATED: the member list may have changed: the typing member cache entry
 *   is dropped, and a presence subscription of it keeps only current members.
 */
import { ConversationChange, type ConversationChanged } from "@parley/gen/parley/realtime/v1/frames_pb";
import type { Connection } from "../handlers/connection.js";
import type { EdgeContext } from "../handlers/context.js";

/** Conversations one socket remembers having been removed from; the oldest is forgotten first. */
const MAX_LEFT_PER_SOCKET = 256;

const leftBySocket = new WeakMap<Connection, Set<string>>();

export function applyConversationChange(ctx: EdgeContext, conn: Connection, changed: ConversationChanged): void {
  const conversation = changed.conversation;
  if (!conversation) return;
  const id = conversation.id;
  conn.memberCache?.delete(id);
  switch (changed.change) {
    case ConversationChange.REMOVED: {
      if (ctx.presenceSubscriptions.conversationOf(conn) === id) ctx.presenceSubscriptions.unsubscribe(conn);
      let left = leftBySocket.get(conn);
      if (!left) leftBySocket.set(conn, (left = new Set()));
      left.delete(id);
      if (left.size >= MAX_LEFT_PER_SOCKET) left.delete(left.values().next().value!);
      left.add(id);
      return;
    }
    case ConversationChange.ADDED:
      leftBySocket.get(conn)?.delete(id);
      return;
    case ConversationChange.UPDATED:
      if (ctx.presenceSubscriptions.conversationOf(conn) === id) {
        ctx.presenceSubscriptions.retainMembers(conn, new Set(conversation.members.map((m) => m.userId)));
      }
      return;
    default:
      return;
  }
}

/** Whether this socket was removed from the conversation (and not added back) while open. */
export function hasLeft(conn: Connection, conversationId: string): boolean {
  return leftBySocket.get(conn)?.has(conversationId) ?? false;
}
