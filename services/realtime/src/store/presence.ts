/**
 * Presence: this node's users in the shared PresenceStore (heartbeat with a
 * TTL, so a dead node's users age out with no coordinator) and the
 * online/offline signals friends see. Signals are ephemeral, so they are
 * published straight to the bus (no outbox: there is no state change to keep
 * consistent with) with a random msgId.
 */
import { randomUUID } from "node:crypto";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { PresenceEventSchema } from "@parley/gen/parley/realtime/v1/frames_pb";
import type { EdgeContext } from "../handlers/context.js";
import { SUBJECT_PRESENCE_CHANGED } from "../events/subjects.js";
import { blockedEitherWay } from "./blocks.js";

/** The user's first socket on this node opened. Registers presence before the caller sends Welcome. */
export async function registerPresence(ctx: EdgeContext, userId: string): Promise<boolean> {
  // Only announce "online" if no other node had the user: the others already did.
  const before = await ctx.deps.presence.nodesOf([userId]);
  await ctx.deps.presence.heartbeat(ctx.nodeId, [userId], ctx.tuning.presenceTtlMs);
  const elsewhere = (before.get(userId) ?? []).some((n) => n !== ctx.nodeId);
  return !elsewhere;
}

/** The user's last socket on this node closed. */
export async function unregisterPresence(ctx: EdgeContext, userId: string, friendIds: string[] | undefined): Promise<void> {
  const now = Date.now();
  await ctx.deps.presence.remove(ctx.nodeId, userId, now);
  const still = await ctx.deps.presence.nodesOf([userId]);
  // This node's own entry can be back already: a heartbeat that listed the user before the close
  // may land after the remove (heartbeatAll drops it again). It counts only if a socket reopened here.
  const online = (still.get(userId) ?? []).some((node) => node !== ctx.nodeId || ctx.registry.hasUser(userId));
  if (online) return;
  await publishPresence(ctx, userId, false, now, friendIds ?? []);
}

/**
 * Published even with no friends to tell: every node's presence watch
 * (events/presence-watch.ts) delivers it to sockets viewing a conversation
 * with this user.
 */
export async function publishPresence(ctx: EdgeContext, userId: string, online: boolean, atMs: number, friendIds: string[]): Promise<void> {
  // Friends were looked up at connect; one on either side of a block since (blocking unfriends)
  // must not hear of this user.
  const blocked = friendIds.length > 0 ? await blockedEitherWay(ctx.deps.ephemeral, userId) : new Set<string>();
  const recipientIds = friendIds.filter((id) => !blocked.has(id));
  const event = create(PresenceEventSchema, {
    userId,
    online,
    lastSeenAt: timestampFromMs(atMs),
    recipientIds,
  });
  await ctx.deps.bus.publish(SUBJECT_PRESENCE_CHANGED, toBinary(PresenceEventSchema, event), randomUUID());
}

/** Every presenceHeartbeatMs: refresh all of this node's users in one call. */
export async function heartbeatAll(ctx: EdgeContext): Promise<void> {
  const users = ctx.registry.userIds();
  if (users.length === 0) return;
  await ctx.deps.presence.heartbeat(ctx.nodeId, users, ctx.tuning.presenceTtlMs);
  // A user whose last socket here closed while the heartbeat was in flight was just re-added after
  // unregisterPresence removed them: remove again, or they would look online for a whole TTL.
  for (const userId of users) {
    if (!ctx.registry.hasUser(userId)) await ctx.deps.presence.remove(ctx.nodeId, userId, Date.now());
  }
}
