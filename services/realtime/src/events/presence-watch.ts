/**
 * Presence changes for this node's presence subscriptions. Every node sees
 * every presence change (a non-shared consumeOwn): one event per
 * connect/disconnect of any user, independent of group sizes, where pushing
 * each change to every co-member would fan out by group size on every connect.
 * A change of user X goes to the local sockets watching a conversation with X,
 * except sockets of users on either side of a block with X (the shared block
 * projection, read only when some local socket watches X) and X's friends, who already get it
 * as recipients of the event (event-delivery.ts).
 */
import { create, fromBinary } from "@bufbuild/protobuf";
import { PresenceChangedSchema, PresenceEventSchema } from "@parley/gen/parley/realtime/v1/frames_pb";
import type { Subscription } from "@parley/platform";
import { OutFrame, serverFrame } from "../handlers/codec.js";
import type { EdgeContext } from "../handlers/context.js";
import { blockedEitherWay } from "../store/blocks.js";
import { SUBJECT_PRESENCE_CHANGED } from "./subjects.js";

export async function startPresenceWatch(ctx: EdgeContext): Promise<Subscription> {
  return ctx.deps.bus.consumeOwn({
    name: `presence-watch-${ctx.nodeId}`,
    subjects: [SUBJECT_PRESENCE_CHANGED],
    handler: async (msg) => {
      const e = fromBinary(PresenceEventSchema, msg.data);
      if (!ctx.presenceSubscriptions.watchersOf(e.userId)) return;
      // Either side of a block: X's presence reaches neither whom X blocked nor who blocked X.
      const hidden = await blockedEitherWay(ctx.deps.ephemeral, e.userId);
      // Re-read after the await: sockets may have unsubscribed or closed meanwhile.
      const watchers = ctx.presenceSubscriptions.watchersOf(e.userId);
      if (!watchers) return;
      const friends = new Set(e.recipientIds);
      const out = new OutFrame(serverFrame("presence", create(PresenceChangedSchema, { userId: e.userId, online: e.online, lastSeenAt: e.lastSeenAt })));
      for (const conn of watchers) {
        if (conn.closed || hidden.has(conn.userId) || friends.has(conn.userId)) continue;
        conn.sendControl(out);
      }
    },
  });
}
