/**
 * Typing signals: ephemeral, so published straight to the bus (no outbox) and
 * never re-sent. Members come from chat with the typer's own token and are
 * cached on the socket for a short while, since a typer sends a signal every
 * second or so; a membership change delivered to the socket drops the entry
 * (events/membership-changes.ts). Blocks are read from the shared projection
 * on every signal (one read of two sets), so a block made a moment ago
 * already applies: no one on either side of a block with the typer is told.
 */
import { randomUUID } from "node:crypto";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { TypingEventSchema } from "@parley/gen/parley/realtime/v1/frames_pb";
import { SUBJECT_TYPING_STARTED } from "../events/subjects.js";
import { blockedEitherWay } from "../store/blocks.js";
import type { Connection } from "./connection.js";
import type { EdgeContext } from "./context.js";
import { codeName, isClientError } from "./errors.js";

/** Conversations whose members one socket keeps cached. */
const MAX_CACHED_CONVERSATIONS = 32;

export async function handleTyping(ctx: EdgeContext, conn: Connection, conversationId: string): Promise<void> {
  const now = Date.now();
  // Over the rate: dropped on purpose. A typing signal repeats every second
  // while the user types, so the next one carries the same information.
  if (now - conn.lastTypingMs < ctx.tuning.typingMinIntervalMs) return;
  conn.lastTypingMs = now;
  if (!conversationId) {
    conn.sendError("invalid_argument", "typing: conversation_id is required");
    return;
  }
  try {
    const memberIds = await cachedMembers(ctx, conn, conversationId, now);
    const blocked = await blockedEitherWay(ctx.deps.ephemeral, conn.userId);
    const recipientIds = memberIds.filter((id) => id !== conn.userId && !blocked.has(id));
    if (recipientIds.length === 0) return;
    const event = create(TypingEventSchema, {
      conversationId,
      userId: conn.userId,
      recipientIds,
      expiresAt: timestampFromMs(now + ctx.tuning.typingTtlMs),
    });
    await ctx.deps.bus.publish(SUBJECT_TYPING_STARTED, toBinary(TypingEventSchema, event), randomUUID());
  } catch (err) {
    if (conn.closed) return;
    if (isClientError(err)) {
      conn.sendError(codeName(err.code), `typing: conversation ${conversationId}: ${err.rawMessage}`);
      return;
    }
    ctx.logger.warn({ err, conversationId }, "typing signal not published");
    conn.sendError("unavailable", "typing: not delivered, try again");
  }
}

async function cachedMembers(ctx: EdgeContext, conn: Connection, conversationId: string, now: number): Promise<string[]> {
  const hit = conn.memberCache?.get(conversationId);
  if (hit && hit.untilMs > now) return hit.memberIds;
  const { memberIds } = await ctx.peers.conversation(conn.token, conversationId);
  const cache = (conn.memberCache ??= new Map());
  cache.delete(conversationId);
  if (cache.size >= MAX_CACHED_CONVERSATIONS) cache.delete(cache.keys().next().value!);
  cache.set(conversationId, { memberIds, untilMs: now + ctx.tuning.peerCacheMs });
  return memberIds;
}
