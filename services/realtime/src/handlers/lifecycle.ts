/**
 * Socket lifecycle: upgrade (token check), open (registry, presence, Welcome),
 * message (frame dispatch) and close. Handlers never throw into uWS: a bad
 * frame costs its sender an Error frame or its socket, never the node.
 */
import type { HttpRequest, HttpResponse, us_socket_context_t, WebSocket } from "uWebSockets.js";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs, timestampNow } from "@bufbuild/protobuf/wkt";
import { ErrorSchema, PongSchema, PresenceChangedSchema, ReconnectSchema, WelcomeSchema, type ClientFrame } from "@parley/gen/parley/realtime/v1/frames_pb";
import { refreshBlocks } from "../store/blocks.js";
import { registerPresence, publishPresence, unregisterPresence } from "../store/presence.js";
import { checkAccessToken, reauthenticate } from "./auth.js";
import { FrameDecodeError, OutFrame, decodeClientFrame, serverFrame } from "./codec.js";
import { CLOSE_BAD_CLIENT, Connection, type Handshake, type SocketData } from "./connection.js";
import type { EdgeContext } from "./context.js";
import { admitSocket, allowCostlyFrame, allowFrame, attachSocketLease, releaseLease, releaseSocketLease } from "./frame-limits.js";
import { SocketHandle } from "./socket-handle.js";
import { handlePresenceSubscribe } from "./presence-subscribe.js";
import { onHello, onResumeCursors } from "./resume.js";
import { handleTyping } from "./typing.js";
import { CLOSE_UPGRADE_REQUIRED, negotiateSubprotocol, type Negotiated } from "./subprotocol.js";

export const CLOSE_SERVER_DRAINING = 1012;

/**
 * Upgrades at once, inside uWS's own upgrade callback, and checks the token and the socket cap
 * after open (audit item 15a). Completing the upgrade later, from the check's continuation, needs
 * `res.cork(() => res.upgrade(...))` (uncorked, uWS.js warns on every call), and in our uWS.js
 * (20.30) that cork closes the new WebSocket now and then: `HttpResponse.cork` tells an upgrade
 * inside its callback only by the socket's address, but the upgrade re-allocates the socket and
 * usually keeps the address; cork then reads the HTTP response state from memory that now holds
 * the WebSocket's data and, when those bits read "Connection: close, response sent", shuts the
 * socket down right after `open` (the client saw 101, a FIN and 1006 before Welcome, about one
 * socket in 3,000). uWS's own HTTP parser follows the upgraded socket correctly.
 * A rejected token (or socket) is closed with a code and reason after open, as before: browsers
 * only expose a close code and reason to the app, not an HTTP status. So is a client offering
 * only protocol versions this edge does not speak (subprotocol.ts): close 4426, no token check.
 */
export function onUpgrade(ctx: EdgeContext, res: HttpResponse, req: HttpRequest, context: us_socket_context_t): void {
  const key = req.getHeader("sec-websocket-key");
  const extensions = req.getHeader("sec-websocket-extensions");
  const sub = negotiateSubprotocol(req.getHeader("sec-websocket-protocol"));
  const handshake: Promise<Handshake> = sub.ok
    ? checkHandshake(ctx, sub)
    : Promise.resolve({ ok: false, closeCode: CLOSE_UPGRADE_REQUIRED, reason: sub.reason, json: false, frame: false });
  const data: SocketData = { conn: undefined, handshake, closed: false };
  res.upgrade(data, key, sub.selected, extensions, context);
}

async function checkHandshake(ctx: EdgeContext, sub: Extract<Negotiated, { ok: true }>): Promise<Handshake> {
  try {
    const check = await checkAccessToken(ctx, sub.token);
    if (!check.ok) return { ok: false, closeCode: check.closeCode, reason: check.reason, json: sub.json };
    const admission = await admitSocket(ctx, check.claims.userId);
    if (!admission.ok) return { ok: false, closeCode: admission.closeCode, reason: admission.reason, json: sub.json, errorCode: admission.errorCode };
    return { ok: true, claims: check.claims, token: sub.token!, json: sub.json, leaseId: admission.leaseId };
  } catch (err) {
    ctx.logger.error({ err }, "socket handshake check failed");
    return { ok: false, closeCode: 1011, reason: "cannot admit this socket right now; retry", json: sub.json, errorCode: "unavailable" };
  }
}

/**
 * Frames a client sends before Welcome (none, from the SDK: Hello follows Welcome) are dropped
 * while the handshake is pending: the socket has no Connection yet.
 */
export function onOpen(ctx: EdgeContext, ws: WebSocket<SocketData>): void {
  const data = ws.getUserData();
  const handshake = data.handshake;
  data.handshake = undefined;
  if (!handshake) return;
  void handshake
    .then((settled) => afterHandshake(ctx, ws, data, settled))
    .catch((err: unknown) => ctx.logger.error({ err }, "socket open failed"));
}

function afterHandshake(ctx: EdgeContext, ws: WebSocket<SocketData>, data: SocketData, handshake: Handshake): void {
  if (data.closed) {
    // Closed before its check settled: `ws` is gone; only the lease is left to return.
    if (handshake.ok) releaseLease(ctx, handshake.claims.userId, handshake.leaseId);
    return;
  }
  if (!handshake.ok && handshake.frame === false) {
    // A protocol version it does not speak: no frame it could decode, only the close reason.
    new SocketHandle(ws).end(handshake.closeCode, handshake.reason);
    return;
  }
  if (!handshake.ok) {
    const error = new OutFrame(serverFrame("error", create(ErrorSchema, { code: handshake.errorCode ?? "unauthenticated", message: handshake.reason })));
    refuse(ws, error, handshake.json, handshake.closeCode, handshake.reason);
    return;
  }
  if (ctx.draining) {
    const reconnect = new OutFrame(serverFrame("reconnect", create(ReconnectSchema, { reason: "server draining", retryAfterMs: ctx.tuning.drainRetryAfterMs })));
    refuse(ws, reconnect, handshake.json, CLOSE_SERVER_DRAINING, "server draining");
    releaseLease(ctx, handshake.claims.userId, handshake.leaseId);
    return;
  }
  const conn = new Connection(ctx, ws, handshake.claims, handshake.token, handshake.json);
  data.conn = conn;
  attachSocketLease(conn, handshake.leaseId);
  ctx.metrics.sockets.inc();
  const first = ctx.registry.add(conn);
  void welcome(ctx, conn, first);
}

/** A socket that gets one frame and is closed (no Connection, nothing kept). */
function refuse(ws: WebSocket<SocketData>, frame: OutFrame, json: boolean, code: number, reason: string): void {
  const socket = new SocketHandle(ws);
  socket.send(frame.encode(0, json), !json);
  socket.end(code, reason);
}

/**
 * The socket is in the registry before Welcome, and Hello (which triggers
 * catch-up) only comes after Welcome: so any message this node delivered
 * before the socket was registered was committed before catch-up reads
 * history, and nothing falls between live delivery and resume.
 */
async function welcome(ctx: EdgeContext, conn: Connection, first: boolean): Promise<void> {
  const { userId } = conn;
  let announceOnline = false;
  try {
    if (first) announceOnline = await registerPresence(ctx, userId);
    else await ctx.deps.presence.heartbeat(ctx.nodeId, [userId], ctx.tuning.presenceTtlMs);
  } catch (err) {
    ctx.logger.warn({ err, userId }, "presence registration failed; closing socket");
    conn.sendError("unavailable", "presence unavailable; reconnect");
    conn.close(1011, "presence unavailable; reconnect");
    return;
  }
  if (conn.closed) {
    // Closed while registering: undo the entry the close handler could not see yet.
    if (!ctx.registry.hasUser(userId)) await ctx.deps.presence.remove(ctx.nodeId, userId, Date.now()).catch(() => undefined);
    return;
  }
  const frame = create(WelcomeSchema, {
    userId,
    sessionId: conn.claims.sessionId,
    nodeId: ctx.nodeId,
    serverTime: timestampNow(),
    tokenExpiresAt: timestampFromMs(conn.claims.expiresAtMs),
  });
  conn.sendControl(new OutFrame(serverFrame("welcome", frame)));
  try {
    // Every socket gets its own lookup: a new device must learn who is online
    // now, not only the changes that happen after it connected.
    // Heal the block projection (events may have been lost) before announcing this user online,
    // so the announcement is already filtered by the current blocks.
    const [friendIds] = await Promise.all([
      ctx.peers.friendIds(conn.token),
      refreshBlocks(ctx.deps.ephemeral, userId, () => ctx.peers.blockedIds(conn.token)),
    ]);
    ctx.registry.setFriends(userId, friendIds);
    if (announceOnline) await publishPresence(ctx, userId, true, Date.now(), friendIds);
    await sendPresenceSnapshot(ctx, conn, friendIds);
  } catch (err) {
    // Presence signals are best effort: the next change or reconnect corrects them.
    ctx.logger.warn({ err, userId }, "presence of friends not exchanged");
  }
}

/**
 * Friends' current presence, as unacked control frames: a lost snapshot is
 * replaced by the next connection's, so it needs no delivery id.
 */
async function sendPresenceSnapshot(ctx: EdgeContext, conn: Connection, friendIds: string[]): Promise<void> {
  if (friendIds.length === 0 || conn.closed) return;
  const presence = await ctx.deps.presence.info(friendIds);
  for (const [friendId, info] of presence) {
    if (conn.closed) return;
    const changed = create(PresenceChangedSchema, {
      userId: friendId,
      online: info.online,
      lastSeenAt: info.lastSeenMs > 0 ? timestampFromMs(info.lastSeenMs) : undefined,
    });
    conn.sendControl(new OutFrame(serverFrame("presence", changed)));
  }
}

export function onMessage(ctx: EdgeContext, ws: WebSocket<SocketData>, data: ArrayBuffer, isBinary: boolean): void {
  const conn = ws.getUserData().conn;
  if (!conn || conn.closed) return;
  if (data.byteLength > ctx.tuning.maxPayloadBytes) {
    ctx.metrics.badFrames.inc();
    conn.close(1009, `frame of ${data.byteLength} bytes exceeds ${ctx.tuning.maxPayloadBytes}`);
    return;
  }
  let frame: ClientFrame;
  try {
    // Decoded synchronously: uWS neuters `data` when this handler returns.
    frame = decodeClientFrame(data, isBinary, conn.json);
  } catch (err) {
    badFrame(ctx, conn, err instanceof FrameDecodeError ? err.message : "frame could not be decoded");
    return;
  }
  const kind = frame.kind;
  switch (kind.case) {
    case "hello":
    case "resumeCursors": {
      const fail = (err: unknown) => failSocket(ctx, conn, err, "resume");
      const refused = kind.case === "hello" ? onHello(ctx, conn, kind.value, fail) : onResumeCursors(ctx, conn, kind.value, fail);
      if (refused !== undefined) badFrame(ctx, conn, refused);
      return;
    }
    case "ack": {
      if (kind.value.deliveryIds.length > ctx.tuning.maxAckIds) {
        badFrame(ctx, conn, `ack: at most ${ctx.tuning.maxAckIds} delivery ids per frame`);
        return;
      }
      const { neverSent } = conn.ack(kind.value.deliveryIds);
      if (neverSent > 0) badFrame(ctx, conn, `ack: ${neverSent} delivery id(s) were never sent on this socket`);
      return;
    }
    case "typing":
      if (!allowFrame(ctx, conn, "typing")) return;
      void handleTyping(ctx, conn, kind.value.conversationId).catch((err: unknown) => failSocket(ctx, conn, err, "typing"));
      return;
    case "ping":
      if (!allowFrame(ctx, conn, "ping")) return;
      conn.sendControl(new OutFrame(serverFrame("pong", create(PongSchema, { nonce: kind.value.nonce, serverTime: timestampNow() }))));
      return;
    case "presenceSubscribe":
      // Unsubscribing (empty id) costs no chat call: only the socket's own budget applies.
      void (kind.value.conversationId ? allowCostlyFrame(ctx, conn, "presenceSubscribe") : Promise.resolve(allowFrame(ctx, conn, "presenceSubscribe")))
        .then((ok) => (ok && !conn.closed ? handlePresenceSubscribe(ctx, conn, kind.value.conversationId) : undefined))
        .catch((err: unknown) => failSocket(ctx, conn, err, "presence_subscribe"));
      return;
    case "reauthenticate":
      void allowCostlyFrame(ctx, conn, "reauthenticate")
        .then((ok) => (ok && !conn.closed ? reauthenticate(ctx, conn, kind.value.accessToken) : undefined))
        .catch((err: unknown) => failSocket(ctx, conn, err, "reauthenticate"));
      return;
    default:
      badFrame(ctx, conn, "frame has no known kind");
  }
}

export function onClose(ctx: EdgeContext, ws: WebSocket<SocketData>): void {
  const data = ws.getUserData();
  data.closed = true;
  const conn = data.conn;
  if (!conn) return;
  conn.released();
  releaseSocketLease(ctx, conn);
  ctx.metrics.sockets.dec();
  ctx.presenceSubscriptions.unsubscribe(conn);
  const friendIds = ctx.registry.friendsOf(conn.userId);
  if (ctx.registry.remove(conn)) {
    unregisterPresence(ctx, conn.userId, friendIds).catch((err: unknown) => {
      // The presence entry still expires with its TTL.
      ctx.logger.warn({ err, userId: conn.userId }, "presence removal failed");
    });
  }
}

function badFrame(ctx: EdgeContext, conn: Connection, reason: string): void {
  ctx.metrics.badFrames.inc();
  conn.badFrames++;
  if (conn.badFrames > ctx.tuning.maxBadFrames) {
    conn.close(CLOSE_BAD_CLIENT, "too many invalid frames");
    return;
  }
  conn.sendError("invalid_argument", reason);
}

/** Unexpected failure in a frame handler: this socket resumes elsewhere, the node carries on. */
function failSocket(ctx: EdgeContext, conn: Connection, err: unknown, where: string): void {
  ctx.logger.error({ err, userId: conn.userId, where }, "socket handler failed");
  if (conn.closed) return;
  conn.sendError("internal", `${where} failed; reconnect`);
  conn.close(1011, `${where} failed; reconnect`);
}
