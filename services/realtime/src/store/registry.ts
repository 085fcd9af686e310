/**
 * This node's sockets by user. Multi-device: a user may hold several sockets
 * here (and more on other nodes); every one of them gets every frame.
 */
import type { Connection } from "../handlers/connection.js";

interface UserSockets {
  sockets: Set<Connection>;
  /** Friends looked up when the user's first socket here opened; recipients of presence changes. */
  friendIds: string[] | undefined;
}

export class SocketRegistry {
  private readonly byUser = new Map<string, UserSockets>();
  private socketCount = 0;

  /** Returns true if this is the user's first socket on this node. */
  add(conn: Connection): boolean {
    let entry = this.byUser.get(conn.userId);
    const first = entry === undefined;
    if (!entry) {
      entry = { sockets: new Set(), friendIds: undefined };
      this.byUser.set(conn.userId, entry);
    }
    if (!entry.sockets.has(conn)) {
      entry.sockets.add(conn);
      this.socketCount++;
    }
    return first;
  }

  /** Returns true if that was the user's last socket on this node. */
  remove(conn: Connection): boolean {
    const entry = this.byUser.get(conn.userId);
    if (!entry || !entry.sockets.delete(conn)) return false;
    this.socketCount--;
    if (entry.sockets.size > 0) return false;
    this.byUser.delete(conn.userId);
    return true;
  }

  socketsOf(userId: string): ReadonlySet<Connection> | undefined {
    return this.byUser.get(userId)?.sockets;
  }

  hasUser(userId: string): boolean {
    return this.byUser.has(userId);
  }

  setFriends(userId: string, friendIds: string[]): void {
    const entry = this.byUser.get(userId);
    if (entry) entry.friendIds = friendIds;
  }

  friendsOf(userId: string): string[] | undefined {
    return this.byUser.get(userId)?.friendIds;
  }

  userIds(): string[] {
    return [...this.byUser.keys()];
  }

  *connections(): Iterable<Connection> {
    for (const entry of this.byUser.values()) yield* entry.sockets;
  }

  get size(): number {
    return this.socketCount;
  }
}
