/**
 * Hello → catch-up. For each cursor the client's missing messages are streamed
 * from chat's history before any live frame of that conversation (live frames
 * are held meanwhile and sent after, minus what history already sent), so a
 * resumed client sees one ordered stream with no time window: a month-old
 * cursor works the same as a second-old one. Too much missing → a Gap frame
 * and the client pages history itself; never a silent hole.
 *
 * Up to 10,000 cursors: more than fit in one 64 KiB frame arrive as
 * Hello{more} + ResumeCursors frames (collected here, catch-up starts after the
 * last). The heads (last seq) of all of them are read from chat in batches of
 * HEADS_BATCH (GetConversationHeads, members only), so a resume costs
 * conversations/1,000 calls plus one history read per conversation that
 * actually missed something.
 */
import { create } from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";
import { GapSchema, SyncCompleteSchema, type Hello, type ResumeCursors } from "@parley/gen/parley/realtime/v1/frames_pb";
import { OutFrame, serverFrame } from "./codec.js";
import type { Connection } from "./connection.js";
import type { EdgeContext } from "./context.js";
import { codeName, isClientError } from "./errors.js";

/** More cursors in one resume is not a real client (the protocol's limit). */
export const MAX_CURSORS = 10_000;
/** Chat's GetConversationHeads maximum. */
const HEADS_BATCH = 1_000;
/** Per-conversation errors sent for one resume; the rest are summed up in one more Error frame. */
const MAX_CURSOR_ERRORS = 100;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Hello frame. Returns a client-facing reason if the frame is out of place
 * (the caller counts it as a bad frame), undefined otherwise.
 */
export function onHello(ctx: EdgeContext, conn: Connection, hello: Hello, fail: (err: unknown) => void): string | undefined {
  if (conn.helloReceived || conn.collectingCursors) return "hello: already received on this socket; reconnect to resume again";
  conn.collectingCursors = new Map();
  return addCursors(ctx, conn, hello.cursors, hello.more, fail);
}

export function onResumeCursors(ctx: EdgeContext, conn: Connection, frame: ResumeCursors, fail: (err: unknown) => void): string | undefined {
  if (!conn.collectingCursors) return "resume_cursors: only after Hello{more: true} and before the cursor set is complete";
  return addCursors(ctx, conn, frame.cursors, frame.more, fail);
}

function addCursors(
  ctx: EdgeContext,
  conn: Connection,
  cursors: Record<string, bigint>,
  more: boolean,
  fail: (err: unknown) => void,
): undefined {
  const collected = conn.collectingCursors!;
  for (const [raw, seq] of Object.entries(cursors)) {
    // Chat's ids (and so live frames) are lower-case.
    const id = raw.toLowerCase();
    if (collected.size >= MAX_CURSORS && !collected.has(id)) {
      // Over the limit: resume nothing rather than an arbitrary part (the client is broken).
      conn.collectingCursors = undefined;
      conn.sendError("invalid_argument", `hello: at most ${MAX_CURSORS} cursors`);
      conn.beginSync([]);
      conn.sendControl(new OutFrame(serverFrame("syncComplete", create(SyncCompleteSchema))));
      return undefined;
    }
    // The same conversation twice: resume from the older cursor, so nothing is skipped.
    const had = collected.get(id);
    collected.set(id, had === undefined || seq < had ? seq : had);
  }
  if (more) return undefined;
  conn.collectingCursors = undefined;
  void resume(ctx, conn, collected).catch(fail);
  return undefined;
}

export async function resume(ctx: EdgeContext, conn: Connection, cursors: Map<string, bigint>): Promise<void> {
  conn.beginSync(cursors.keys());
  const errors = new CursorErrors(conn);
  const valid: Array<[string, bigint]> = [];
  for (const [id, cursor] of cursors) {
    if (cursor >= 0n && UUID.test(id)) {
      valid.push([id, cursor]);
      continue;
    }
    errors.add(id, "invalid_argument", cursor < 0n ? "cursor must be >= 0" : "conversation id is not a valid id");
    conn.endSync(id);
  }

  const behind: Array<{ id: string; cursor: bigint; lastSeq: bigint }> = [];
  for (let i = 0; i < valid.length; i += HEADS_BATCH) {
    const batch = valid.slice(i, i + HEADS_BATCH);
    let heads: Map<string, bigint>;
    try {
      heads = await ctx.peers.heads(conn.token, batch.map(([id]) => id));
    } catch (err) {
      catchUpFailed(ctx, conn, err, undefined);
      return;
    }
    if (conn.closed) return;
    for (const [id, cursor] of batch) {
      const lastSeq = heads.get(id);
      if (lastSeq === undefined) errors.add(id, "not_found", "not found or not a member");
      if (lastSeq === undefined || lastSeq <= cursor) conn.endSync(id);
      else behind.push({ id, cursor, lastSeq });
    }
  }
  errors.finish();

  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < behind.length && !conn.closed) {
      const { id, cursor, lastSeq } = behind[next++]!;
      await catchUpConversation(ctx, conn, id, cursor, lastSeq);
    }
  };
  await Promise.all(Array.from({ length: Math.min(ctx.tuning.catchUpConcurrency, behind.length) }, worker));
  if (!conn.closed) conn.sendControl(new OutFrame(serverFrame("syncComplete", create(SyncCompleteSchema))));
}

/** Error frames for cursors the server will not resume, bounded per resume. */
class CursorErrors {
  private count = 0;
  constructor(private readonly conn: Connection) {}

  add(conversationId: string, code: string, reason: string): void {
    if (++this.count <= MAX_CURSOR_ERRORS) this.conn.sendError(code, `conversation ${conversationId}: ${reason}`);
  }

  finish(): void {
    const more = this.count - MAX_CURSOR_ERRORS;
    if (more > 0) this.conn.sendError("not_found", `${more} more cursor(s) not resumed (invalid, not found or not a member)`);
  }
}

async function catchUpConversation(ctx: EdgeContext, conn: Connection, conversationId: string, cursor: bigint, lastSeq: bigint): Promise<void> {
  try {
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
    catchUpFailed(ctx, conn, err, conversationId);
  } finally {
    conn.endSync(conversationId);
  }
}

/**
 * A client error (left the conversation meanwhile) is that conversation's; anything else means
 * history is unreachable: pretending the conversation is caught up would be a silent gap, so the
 * client is told to come back and resume.
 */
function catchUpFailed(ctx: EdgeContext, conn: Connection, err: unknown, conversationId: string | undefined): void {
  if (conn.closed) return;
  if (conversationId !== undefined && isClientError(err)) {
    conn.sendError(codeName(err.code), `conversation ${conversationId}: ${err.rawMessage}`);
    return;
  }
  ctx.logger.warn({ err: ConnectError.from(err), conversationId, userId: conn.userId }, "catch-up failed; closing socket so the client resumes");
  conn.sendError("unavailable", "catch-up failed; reconnect to resume");
  conn.close(1011, "catch-up failed; reconnect to resume");
}
