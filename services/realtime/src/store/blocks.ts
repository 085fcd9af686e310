/**
 * Who blocked whom, as the edge needs it for presence and typing, in the
 * shared EphemeralStore (Redis in distributed mode), so any node can tell
 * whether a user's signal may reach another without calling identity per
 * signal. Two sets per user: `blocked-by:<u>` (whom u blocked) and its mirror
 * `blockers-of:<u>` (who blocked u), so "everyone on either side of a block
 * with u" is one read of two keys, whatever the group size. Fed by identity's
 * block events (one durable consumer shared by all nodes, in order) and
 * merged with identity's ListBlocked whenever the blocker connects, so a lost
 * or reordered event heals at the blocker's next connection.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { BlockEventSchema } from "@parley/gen/parley/identity/v1/events_pb";
import type { EphemeralStore, EventBus, Subscription } from "@parley/platform";
import { identityEvents } from "../events/subjects.js";

export const BLOCKS_DURABLE = "realtime-presence-blocks";
export const BLOCK_SUBJECTS = [identityEvents.blockCreated.subject, identityEvents.blockRemoved.subject];

export function blockedByKey(blockerId: string): string {
  return `realtime:blocked-by:${blockerId}`;
}

/** The mirror: users who blocked `blockedId`. */
export function blockersOfKey(blockedId: string): string {
  return `realtime:blockers-of:${blockedId}`;
}

async function setBlock(store: EphemeralStore, blockerId: string, blockedId: string, present: boolean): Promise<void> {
  if (present) {
    await Promise.all([store.addToSet(blockedByKey(blockerId), blockedId), store.addToSet(blockersOfKey(blockedId), blockerId)]);
  } else {
    await Promise.all([store.removeFromSet(blockedByKey(blockerId), blockedId), store.removeFromSet(blockersOfKey(blockedId), blockerId)]);
  }
}

export async function startBlocksConsumer(deps: { bus: EventBus; ephemeral: EphemeralStore }): Promise<Subscription> {
  return deps.bus.consume({
    durable: BLOCKS_DURABLE,
    subjects: BLOCK_SUBJECTS,
    // In order: a block and its removal applied the other way round would leave the wrong state.
    concurrency: 1,
    handler: async (msg) => {
      const e = fromBinary(BlockEventSchema, msg.data);
      if (!e.blockerId || !e.blockedId) return;
      // Set add/remove are idempotent, so a redelivery needs no inbox.
      await setBlock(deps.ephemeral, e.blockerId, e.blockedId, msg.subject.endsWith(".created"));
    },
  });
}

/**
 * Identity's current list for a user who just connected, merged into what the
 * events left: every listed block is added (a lost "created" heals) and every
 * entry the set had *before identity was asked* but the list lacks is removed
 * (a lost "removed" heals). An entry a block event added while identity was
 * being asked is left alone: overwriting the set with a list read a moment
 * earlier would drop it. Both directions (the mirror set) move together.
 */
export async function refreshBlocks(
  store: EphemeralStore,
  blockerId: string,
  currentBlockedIds: () => Promise<readonly string[]>,
): Promise<void> {
  const before = await blockedBy(store, blockerId);
  const current = await currentBlockedIds();
  const now = new Set(current);
  await Promise.all([
    ...current.map((id) => setBlock(store, blockerId, id, true)),
    ...[...before].filter((id) => !now.has(id)).map((id) => setBlock(store, blockerId, id, false)),
  ]);
}

/** Everyone `blockerId` blocked. */
export async function blockedBy(store: EphemeralStore, blockerId: string): Promise<Set<string>> {
  const key = blockedByKey(blockerId);
  return new Set((await store.setMembersMany([key])).get(key) ?? []);
}

/** Everyone on either side of a block with `userId`: whom they blocked and who blocked them. */
export async function blockedEitherWay(store: EphemeralStore, userId: string): Promise<Set<string>> {
  const sets = await store.setMembersMany([blockedByKey(userId), blockersOfKey(userId)]);
  return new Set([...(sets.get(blockedByKey(userId)) ?? []), ...(sets.get(blockersOfKey(userId)) ?? [])]);
}
