/**
 * PresenceSubscribe: presence of the members of the conversation a socket is
 * viewing. Membership is chat's (GetConversation with the socket owner's
 * token); members on either side of a block with the viewer are left out.
 * A removal from the conversation delivered meanwhile wins over a chat answer
 * read before it (events/membership-changes.ts). The subscription is
 * recorded before the snapshot is read, so a change published meanwhile is
 * either in the snapshot or delivered after it (PresenceChanged is idempotent).
 */
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { PresenceChangedSchema } from "@parley/gen/parley/realtime/v1/frames_pb";
import { hasLeft } from "../events/membership-changes.js";
import { blockedEitherWay } from "../store/blocks.js";
import { OutFrame, serverFrame } from "./codec.js";
import type { Connection } from "./connection.js";
import type { EdgeContext } from "./context.js";
import { codeName, isClientError } from "./errors.js";

export async function handlePresenceSubscribe(ctx: EdgeContext, conn: Connection, conversationId: string): Promise<void> {
  const seq = ++conn.presenceSubscribeSeq;
  // Replacing starts now: changes of the previous conversation stop even if the new one fails.
  ctx.presenceSubscriptions.unsubscribe(conn);
  if (!conversationId) return;
  const superseded = () => conn.closed || seq !== conn.presenceSubscribeSeq;
  // A chat answer read before a removal that was delivered since is stale: install nothing.
  const stale = () => superseded() || hasLeft(conn, conversationId);
  try {
    const { memberIds } = await ctx.peers.conversation(conn.token, conversationId);
    if (stale()) return;
    const others = memberIds.filter((id) => id !== conn.userId).slice(0, ctx.tuning.maxPresenceMembers);
    const hidden = await blockedEitherWay(ctx.deps.ephemeral, conn.userId);
    if (stale()) return;
    // Every member is watched, blocked ones included: the live path re-checks blocks per change,
    // so an unblock shows the member's next change without a new subscription.
    ctx.presenceSubscriptions.subscribe(conn, conversationId, others);
    const visible = others.filter((id) => !hidden.has(id));
    if (visible.length === 0) return;
    const presence = await ctx.deps.presence.info(visible);
    if (stale()) return;
    for (const [userId, info] of presence) {
      const changed = create(PresenceChangedSchema, {
        userId,
        online: info.online,
        lastSeenAt: info.lastSeenMs > 0 ? timestampFromMs(info.lastSeenMs) : undefined,
      });
      // Unacked like the friends' snapshot: the next subscribe or reconnect replaces a lost one.
      conn.sendControl(new OutFrame(serverFrame("presence", changed)));
    }
  } catch (err) {
    if (superseded()) return;
    if (isClientError(err)) {
      ctx.presenceSubscriptions.unsubscribe(conn);
      conn.sendError(codeName(err.code), `presence_subscribe: conversation ${conversationId}: ${err.rawMessage}`);
      return;
    }
    // Best effort, like every presence signal: the socket stays, the client may subscribe again.
    ctx.logger.warn({ err, conversationId }, "presence subscription failed");
    conn.sendError("unavailable", `presence_subscribe: conversation ${conversationId}: try again`);
  }
}
