/**
 * Key layout shared by the Redis and memory stores, so both backends name the
 * same things the same way (and a Redis dump is readable).
 */
export const storeKeys = {
  revoked: (id: string) => `revoked:${id}`,
  presence: (userId: string) => `presence:${userId}`,
  lastSeen: (userId: string) => `lastseen:${userId}`,
  ephemeral: (key: string) => `eph:${key}`,
  set: (key: string) => `set:${key}`,
  socketLeases: (userId: string) => `sockets:${userId}`,
};

/** How long a user's last-seen time is kept after their last socket closed. */
export const LAST_SEEN_RETENTION_MS = 90 * 24 * 3600 * 1000;

export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
