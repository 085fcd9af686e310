/**
 * Who blocked whom, as the edge needs it for presence: per blocker, the set of
 * users they blocked, in the shared EphemeralStore (Redis in distributed
 * mode), so any node can tell whether a member's presence may reach a viewer
 * without calling identity per change. Fed by identity's block events (one
 * durable consumer shared by all nodes, in order) and rebuilt from identity's
 * ListBlocked whenever the blocker connects, so a lost or reordered event
 * heals at the blocker's next connection.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { BlockEventSchema } from "@parley/gen/parley/identity/v1/events_pb";
import type { EphemeralStore, EventBus, Subscription } from "@parley/platform";

export const BLOCKS_DURABLE = "realtime-presence-blocks";
export const BLOCK_SUBJECTS = ["parley.identity.block.created", "parley.identity.block.removed"];

export function blockedByKey(blockerId: string): string {
  return `realtime:blocked-by:${blockerId}`;
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
      if (msg.subject.endsWith(".created")) await deps.ephemeral.addToSet(blockedByKey(e.blockerId), e.blockedId);
      else await deps.ephemeral.removeFromSet(blockedByKey(e.blockerId), e.blockedId);
    },
  });
}

/** Identity's current list for a user who just connected: replaces whatever the events left. */
export async function refreshBlocks(store: EphemeralStore, blockerId: string, blockedIds: readonly string[]): Promise<void> {
  await store.replaceSet(blockedByKey(blockerId), blockedIds);
}

/** Of `candidateIds`, those who blocked `viewerId`. */
export async function blockersOf(store: EphemeralStore, viewerId: string, candidateIds: readonly string[]): Promise<Set<string>> {
  const sets = await store.setMembersMany(candidateIds.map(blockedByKey));
  const out = new Set<string>();
  for (const id of candidateIds) if (sets.get(blockedByKey(id))?.includes(viewerId)) out.add(id);
  return out;
}

/** Everyone `blockerId` blocked. */
export async function blockedBy(store: EphemeralStore, blockerId: string): Promise<Set<string>> {
  const key = blockedByKey(blockerId);
  return new Set((await store.setMembersMany([key])).get(key) ?? []);
}
