/**
 * Hello → catch-up. For each cursor the client's missing messages are streamed
 * from chat's history before any live frame of that conversation (live frames
 * are held meanwhile and sent after, minus what history already sent), so a
 * resumed client sees one ordered stream with no time window: a month-old
 * cursor works the same as a second-old one. Too much missing → a Gap frame
 * and the client pages history itself; never a silent hole.
 */
import { create } from "@bufbuild/protobuf";
import { GapSchema, SyncCompleteSchema, type Hello } from "@parley/gen/parley/realtime/v1/frames_pb";
import { OutFrame, serverFrame } from "./codec.js";
import type { Connection } from "./connection.js";
import type { EdgeContext } from "./context.js";
import { codeName, isClientError } from "./errors.js";

/** More cursors than this in one Hello is not a real client. */
const MAX_CURSORS = 10_000;

export async function resume(ctx: EdgeContext, conn: Connection, hello: Hello): Promise<void> {
  const cursors = Object.entries(hello.cursors);
  if (cursors.length > MAX_CURSORS) {
    conn.sendError("invalid_argument", `hello: at most ${MAX_CURSORS} cursors`);
    conn.beginSync([]);
    conn.sendControl(new OutFrame(serverFrame("syncComplete", create(SyncCompleteSchema))));
    return;
  }
  conn.beginSync(cursors.map(([id]) => id));
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < cursors.length && !conn.closed) {
      const [conversationId, cursor] = cursors[next++]!;
      await catchUpConversation(ctx, conn, conversationId, cursor);
    }
  };
  await Promise.all(Array.from({ length: Math.min(ctx.tuning.catchUpConcurrency, cursors.length) }, worker));
  if (!conn.closed) conn.sendControl(new OutFrame(serverFrame("syncComplete", create(SyncCompleteSchema))));
}

async function catchUpConversation(ctx: EdgeContext, conn: Connection, conversationId: string, cursor: bigint): Promise<void> {
  try {
    if (cursor < 0n) {
      conn.sendError("invalid_argument", `cursor for conversation ${conversationId} must be >= 0`);
      return;
    }
    // Also the membership check: a non-member gets permission_denied / not_found here.
    const { lastSeq } = await ctx.peers.conversation(conn.token, conversationId);
    if (lastSeq <= cursor) return;
    if (lastSeq - cursor > BigInt(ctx.tuning.gapLimit)) {
      conn.transmit(new OutFrame(serverFrame("gap", create(GapSchema, { conversationId, fromSeq: cursor, toSeq: lastSeq }))));
      conn.noteCaughtUp(conversationId, lastSeq);
      return;
    }
    let after = cursor;
    for (;;) {
      await conn.waitForAckRoom();
      if (conn.closed) return;
      const page = await ctx.peers.messagesAfter(conn.token, conversationId, after, ctx.tuning.catchUpPageSize);
      if (conn.closed) return;
      for (const message of page.messages) {
        conn.transmit(new OutFrame(serverFrame("message", message)));
        conn.noteCaughtUp(conversationId, message.seq);
        after = message.seq;
      }
      if (!page.hasMore || page.messages.length === 0) return;
    }
  } catch (err) {
    if (conn.closed) return;
    if (isClientError(err)) {
      conn.sendError(codeName(err.code), `conversation ${conversationId}: ${err.rawMessage}`);
      return;
    }
    // History unreachable: pretending the conversation is caught up would be a
    // silent gap, so the client is told to come back and resume.
    ctx.logger.warn({ err, conversationId, userId: conn.userId }, "catch-up failed; closing socket so the client resumes");
    conn.sendError("unavailable", "catch-up failed; reconnect to resume");
    conn.close(1011, "catch-up failed; reconnect to resume");
  } finally {
    conn.endSync(conversationId);
  }
}
