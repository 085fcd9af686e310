/**
 * This node's presence subscriptions: each socket watches at most one
 * conversation (the one its user is viewing), indexed by watched member so a
 * presence change of user X finds its local watchers in one lookup.
 */
import type { Connection } from "../handlers/connection.js";

export class PresenceSubscriptions {
  private readonly bySocket = new Map<Connection, { conversationId: string; memberIds: string[] }>();
  private readonly byMember = new Map<string, Set<Connection>>();

  /** Replaces the socket's previous subscription. */
  subscribe(conn: Connection, conversationId: string, memberIds: string[]): void {
    this.unsubscribe(conn);
    this.bySocket.set(conn, { conversationId, memberIds });
    for (const id of memberIds) {
      let watchers = this.byMember.get(id);
      if (!watchers) this.byMember.set(id, (watchers = new Set()));
      watchers.add(conn);
    }
  }

  unsubscribe(conn: Connection): void {
    const sub = this.bySocket.get(conn);
    if (!sub) return;
    this.bySocket.delete(conn);
    for (const id of sub.memberIds) {
      const watchers = this.byMember.get(id);
      watchers?.delete(conn);
      if (watchers?.size === 0) this.byMember.delete(id);
    }
  }

  /** Stops watching members no longer in the conversation (the socket's subscription stays). */
  retainMembers(conn: Connection, currentMemberIds: ReadonlySet<string>): void {
    const sub = this.bySocket.get(conn);
    if (!sub) return;
    const gone = sub.memberIds.filter((id) => !currentMemberIds.has(id));
    if (gone.length === 0) return;
    sub.memberIds = sub.memberIds.filter((id) => currentMemberIds.has(id));
    for (const id of gone) {
      const watchers = this.byMember.get(id);
      watchers?.delete(conn);
      if (watchers?.size === 0) this.byMember.delete(id);
    }
  }

  conversationOf(conn: Connection): string | undefined {
    return this.bySocket.get(conn)?.conversationId;
  }

  watchersOf(userId: string): ReadonlySet<Connection> | undefined {
    return this.byMember.get(userId);
  }

  get size(): number {
    return this.bySocket.size;
  }
}
