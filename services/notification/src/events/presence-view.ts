/**
 * Who of a message's recipients is offline, without a Redis call per member
 * per message. Asking the presence store for every member of every message
 * made Redis work (and this process's) grow with group size: a 1,000-member
 * group at 100 msg/s was 100,000 presence lookups a second.
 *
 * This process keeps what it learned in memory: every online/offline change
 * the edge nodes publish (`presence.changed`, one per first connect and last
 * disconnect of a user across all nodes) updates it at once, and an entry
 * older than FRESH_FOR_MS is read again from the presence store, in one call
 * for all of a message's stale members. The re-read covers what no event
 * announces: an edge node that died keeps its users "online" in the store only
 * until their TTL, so they turn offline here at most FRESH_FOR_MS after that.
 * So a group costs one batched lookup per FRESH_FOR_MS, not one per message.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { PresenceEventSchema } from "@parley/gen/parley/realtime/v1/frames_pb";
import type { EventBus, PresenceStore, Subscription } from "@parley/platform";
import { REALTIME } from "./subjects.js";

/** How long an entry answers without asking the presence store again. */
export const FRESH_FOR_MS = 15_000;

/** Users remembered at once; the least recently learned is forgotten first (and asked for again). */
const CAPACITY = 200_000;

export interface OfflineLookup {
  /** The ids among `userIds` with no live socket on any edge node, in input order. */
  offlineOf(userIds: readonly string[]): Promise<string[]>;
}

export interface PresenceView extends OfflineLookup, Subscription {}

interface Learned {
  online: boolean;
  atMs: number;
}

export async function startPresenceView(
  deps: { bus: EventBus; presence: PresenceStore },
  name: string,
  now: () => number = Date.now,
): Promise<PresenceView> {
  const learned = new Map<string, Learned>();
  const learn = (userId: string, online: boolean): Learned => {
    const entry = { online, atMs: now() };
    // Re-inserted so Map order is learning order (the eviction order).
    learned.delete(userId);
    learned.set(userId, entry);
    if (learned.size > CAPACITY) {
      const oldest = learned.keys().next();
      if (!oldest.done) learned.delete(oldest.value);
    }
    return entry;
  };

  const changes = await deps.bus.consumeOwn({
    name,
    subjects: [REALTIME.presenceChanged],
    handler: async (msg) => {
      const e = fromBinary(PresenceEventSchema, msg.data);
      if (e.userId !== "") learn(e.userId, e.online);
    },
  });

  return {
    async offlineOf(userIds) {
      const askedAt = now();
      // One pass and no allocation per member in the common case (everyone known and fresh):
      // it runs for every message, over every member of a group.
      let stale: string[] | undefined;
      for (const id of userIds) {
        const entry = learned.get(id);
        if (entry === undefined || askedAt - entry.atMs > FRESH_FOR_MS) (stale ??= []).push(id);
      }
      // What the lookup found, kept apart too: a learned entry may be evicted before the filter below.
      let looked: Map<string, Learned> | undefined;
      if (stale !== undefined) {
        looked = new Map();
        const before = new Map(stale.map((id) => [id, learned.get(id)]));
        const live = await deps.presence.nodesOf(stale);
        for (const id of stale) {
          // A change event that arrived during the lookup is newer than what the lookup read.
          const changed = learned.get(id) !== before.get(id);
          looked.set(id, changed ? (learned.get(id) ?? learn(id, false)) : learn(id, (live.get(id)?.length ?? 0) > 0));
        }
      }
      return userIds.filter((id) => (looked?.get(id) ?? learned.get(id))?.online === false);
    },
    stop: () => changes.stop(),
  };
}
