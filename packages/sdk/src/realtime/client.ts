/**
 * RealtimeClient: one logical connection to the Parley realtime edge that
 * survives socket loss. It authenticates with a subprotocol token, resumes
 * with per-conversation cursors after every (re)connect, acks every data
 * frame (batched), dedupes and orders messages per conversation, reconnects
 * with exponential backoff and full jitter (immediately elsewhere when the
 * server drains), and re-authenticates long-lived sockets before the token
 * expires.
 */
import type { Client } from "@connectrpc/connect";
import { ListDirection, type Message, type MessageService } from "@parley/gen/parley/chat/v1/message_pb";
import type { Notification } from "@parley/gen/parley/notification/v1/notification_pb";
import {
  ConversationChange,
  type ConversationChanged,
  type FriendEvent,
  type PresenceChanged,
  type ReadReceipt,
  type ServerFrame,
  type Typing,
  type Welcome,
} from "@parley/gen/parley/realtime/v1/frames_pb";
import { backoffDelayMs } from "./backoff.js";
import {
  AUTH_SUBPROTOCOL_PREFIX,
  CLOSE_UPGRADE_REQUIRED,
  decodeServerFrame,   encodeClientFrame,
  resumeFrames,
  subprotocolsFor,
  type ClientFrameInit,
  type RealtimeProtocol,
} from "./codec.js";
import { TypedEmitter } from "./emitter.js";
import { RealtimeUpgradeRequiredError } from "./errors.js";
import { OrderedStreams, type GapInfo } from "./ordered-streams.js";
import { OPEN, jwtExpiryMs, openSocket, type WebSocketConstructor, type WebSocketLike } from "./socket.js";

export type RealtimeState = "connecting" | "open" | "closed";

export interface RealtimeError {
  /**
   * Connect code name ("unauthenticated", "permission_denied", ...), "protocol" for undecodable
   * frames, or "upgrade_required" (a RealtimeUpgradeRequiredError: the server no longer speaks
   * any realtime protocol version this SDK does; the client has stopped).
   */
  code: string;
  message: string;
  /** Set when the error came with the socket closing. */
  closeCode?: number;
}

export interface RealtimeEvents {
  message: Message;
  messageEdited: Message;
  messageDeleted: Message;
  conversation: ConversationChanged;
  notification: Notification;
  presence: PresenceChanged;
  typing: Typing;
  readReceipt: ReadReceipt;
  friend: FriendEvent;
  gap: GapInfo;
  /**
   * Catch-up after a (re)connect is complete: every message missed has been
   * delivered (or reported as a gap). `reconnect` is true when an earlier
   * socket of this client had been open: notifications and conversation or
   * friend changes routed while it was away (or unacked when it dropped) are
   * not replayed, so the app refetches those lists now.
   */
  synced: SyncedInfo;
  state: RealtimeState;
  welcome: Welcome;
  error: RealtimeError;
}

export interface SyncedInfo {
  /** True from the second socket on: refetch notifications, conversations and friends. */
  reconnect: boolean;
}

/** Counters of what this client did, for tests, benchmarks and diagnostics. */
export interface RealtimeStats {
  /** Messages held back because they arrived ahead of a missing seq (see OrderedStreams). */
  reorderHolds: number;
  /** Message frames dropped as already delivered (re-sends, resume overlap): see OrderedStreams.duplicatesDropped. */
  duplicatesDropped: number;
}

export type UrlSource = string | readonly string[] | (() => string | Promise<string>);

export interface RealtimeClientOptions {
  /** ws(s)://host/ws; a list is tried round-robin on reconnect (another node when one drains). */
  url: UrlSource;
  getAccessToken: () => Promise<string>;
  /** Default globalThis.WebSocket; in Node pass `NodeWebSocket` from `@parley/sdk/node`. */
  WebSocket?: WebSocketConstructor;
  /** conversation id → last seq the app already holds. */
  cursors?: Record<string, bigint> | Map<string, bigint>;
  protocol?: RealtimeProtocol;
  /** If given, the client fills gaps from history itself (messages arrive as ordinary "message" events). */
  messages?: Pick<Client<typeof MessageService>, "listMessages">;
  deviceId?: string;
  /** Acks are batched this long. Default 50 ms. A busy stream gets at most one ack frame per 4 × this. */
  ackIntervalMs?: number;
  /** How long an out-of-order message waits for the missing ones before a gap is reported. Default 1500 ms. */
  gapHoldMs?: number;
  backoff?: { baseMs?: number; capMs?: number };
}

const CLOSE_UNAUTHENTICATED = 4401;
/**
 * Ack frames are at least ackIntervalMs × this apart. A lone frame is still
 * acked ackIntervalMs after it arrived; a busy stream gets one ack frame per
 * 4 intervals (5/s at the default) instead of one per interval. Each ack frame
 * is a send here and a decode on the edge: in the 1,000-member fan-out the 20
 * acks/s of every client were ~5% of the clients' CPU and 20k frames/s for the
 * edge. 200 ms is far below the edge's 5 s re-send timer.
 */
const ACK_GAP_FACTOR = 4;
/** Delivery ids per Ack frame (the edge refuses more than 8,192). */
const ACK_IDS_PER_FRAME = 1_000;
const HISTORY_PAGE = 200;

export class RealtimeClient extends TypedEmitter<RealtimeEvents> {
  private readonly opts: RealtimeClientOptions;
  private readonly WebSocketCtor: WebSocketConstructor;
  private readonly protocol: RealtimeProtocol;
  private readonly streams: OrderedStreams;
  private ws: WebSocketLike | undefined;
  private token: string | undefined;
  private currentState: RealtimeState = "closed";
  private closedByUser = false;
  private attempt = 0;
  private urlIndex = 0;
  private pendingAcks: bigint[] = [];
  private ackTimer: ReturnType<typeof setTimeout> | undefined;
  /** When the last ack frame went out (ack pacing, see ACK_GAP_FACTOR). */
  private lastAckAtMs = 0;
  private reauthTimer: ReturnType<typeof setTimeout> | undefined;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  /** A socket of this client was welcomed before: the next SyncComplete is a reconnect. */
  private welcomedBefore = false;
  private welcomedThisSocket = false;
  /** The conversation whose members' presence this client watches ("" = none); re-sent on every socket. */
  private presenceConversationId = "";
  /** Set by a Reconnect frame: the next connect waits a random 0..ms and goes to the next URL. */
  private serverRetryAfterMs: number | undefined;

  constructor(opts: RealtimeClientOptions) {
    super();
    this.opts = opts;
    const ctor = opts.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!ctor) throw new Error("RealtimeClient: no WebSocket implementation; pass options.WebSocket (e.g. NodeWebSocket from @parley/sdk/node)");
    this.WebSocketCtor = ctor;
    this.protocol = opts.protocol ?? "proto";
    this.streams = new OrderedStreams({
      deliver: (m) => this.emit("message", m),
      gap: (info) => this.handleGap(info),
      holdMs: opts.gapHoldMs ?? 1_500,
    });
    const initial = opts.cursors instanceof Map ? opts.cursors : new Map(Object.entries(opts.cursors ?? {}));
    for (const [id, seq] of initial) this.streams.seed(id, seq);
    void this.connect();
  }

  get state(): RealtimeState {
    return this.currentState;
  }

  /** Highest contiguous seq per conversation: what the client resumes from. */
  cursors(): Record<string, bigint> {
    return this.streams.cursors();
  }

  stats(): RealtimeStats {
    return { reorderHolds: this.streams.reorderHolds, duplicatesDropped: this.streams.duplicatesDropped };
  }

  /** True if the signal was sent (the socket is open). */
  sendTyping(conversationId: string): boolean {
    return this.send({ kind: { case: "typing", value: { conversationId } } });
  }

  /**
   * Watch the presence of the members of the conversation the user is viewing
   * ("" = stop): the server answers with their current presence and then sends
   * their changes as `presence` events. Replaces the previous subscription and
   * is re-sent after every reconnect; a conversation the user is not a member
   * of is answered with an `error` event naming it.
   */
  subscribePresence(conversationId: string): void {
    this.presenceConversationId = conversationId;
    // Not open: the Welcome handler sends it on the next socket.
    if (this.welcomedThisSocket) this.sendPresenceSubscribe();
  }

  close(): void {
    this.closedByUser = true;
    this.flushAcks();
    this.clearTimers();
    this.streams.close();
    const ws = this.ws;
    this.ws = undefined;
    ws?.close(1000, "client closed");
    this.setState("closed");
  }

  private async connect(): Promise<void> {
    if (this.closedByUser) return;
    this.setState("connecting");
    let ws: WebSocketLike;
    try {
      const url = await this.nextUrl();
      const token = await this.opts.getAccessToken();
      if (this.closedByUser) return;
      this.token = token;
      ws = openSocket(this.WebSocketCtor, url, [...subprotocolsFor(this.protocol), AUTH_SUBPROTOCOL_PREFIX + token]);
    } catch (err) {
      this.emit("error", { code: "unavailable", message: `connect failed: ${err instanceof Error ? err.message : String(err)}` });
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    this.welcomedThisSocket = false;
    ws.onmessage = (ev) => {
      if (this.ws !== ws) return;
      let frame: ServerFrame;
      try {
        frame = decodeServerFrame(ev.data);
      } catch (err) {
        this.emit("error", { code: "protocol", message: `undecodable server frame: ${err instanceof Error ? err.message : String(err)}` });
        return;
      }
      this.handleFrame(frame);
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      void this.handleClose(ev.code, ev.reason);
    };
    ws.onerror = () => {
      // A close event always follows; reconnecting happens there.
    };
  }

  private handleFrame(frame: ServerFrame): void {
    if (frame.deliveryId > 0n) this.queueAck(frame.deliveryId);
    const k = frame.kind;
    switch (k.case) {
      case "welcome":
        this.attempt = 0;
        this.welcomedThisSocket = true;
        this.setState("open");
        this.emit("welcome", k.value);
        for (const frame of resumeFrames(this.streams.cursors(), this.opts.deviceId ?? "")) this.send(frame);
        // Subscriptions are per socket on the server: a new socket starts with none.
        if (this.presenceConversationId) this.sendPresenceSubscribe();
        if (k.value.tokenExpiresAt) this.scheduleReauth(Number(k.value.tokenExpiresAt.seconds) * 1000);
        return;
      case "message":
        this.streams.accept(k.value);
        return;
      case "messageEdited":
        this.emit("messageEdited", k.value);
        return;
      case "messageDeleted":
        this.emit("messageDeleted", k.value);
        return;
      case "conversation":
        // A conversation the client just joined starts at its current seq; older history is the app's to page.
        if (k.value.change === ConversationChange.ADDED && k.value.conversation) {
          this.streams.seed(k.value.conversation.id, k.value.conversation.lastSeq);
        }
        // No longer a member: resuming it would only earn a permission_denied on every reconnect.
        if (k.value.change === ConversationChange.REMOVED && k.value.conversation) this.streams.forget(k.value.conversation.id);
        // The server's subscription holds the member list as it was: refresh it when members change,
        // and drop it when the user left (the server would answer permission_denied).
        if (k.value.conversation?.id === this.presenceConversationId && this.presenceConversationId) {
          if (k.value.change === ConversationChange.REMOVED) this.subscribePresence("");
          else this.sendPresenceSubscribe();
        }
        this.emit("conversation", k.value);
        return;
      case "notification":
        this.emit("notification", k.value);
        return;
      case "presence":
        this.emit("presence", k.value);
        return;
      case "typing":
        this.emit("typing", k.value);
        return;
      case "readReceipt":
        this.emit("readReceipt", k.value);
        return;
      case "friend":
        this.emit("friend", k.value);
        return;
      case "gap": {
        const info = { conversationId: k.value.conversationId, fromSeq: k.value.fromSeq, toSeq: k.value.toSeq };
        void this.handleGap(info).then(() => this.streams.skipTo(info.conversationId, info.toSeq));
        return;
      }
      case "syncComplete": {
        const reconnect = this.welcomedBefore;
        this.welcomedBefore = true;
        this.emit("synced", { reconnect });
        return;
      }
      case "reconnect":
        this.serverRetryAfterMs = k.value.retryAfterMs;
        this.flushAcks();
        this.ws?.close(1000, "reconnecting as asked by server");
        return;
      case "error":
        this.emit("error", { code: k.value.code, message: k.value.message });
        return;
      default:
        return;
    }
  }

  private sendPresenceSubscribe(): void {
    this.send({ kind: { case: "presenceSubscribe", value: { conversationId: this.presenceConversationId } } });
  }

  private async handleClose(code: number, reason: string): Promise<void> {
    // A socket that was open may have held unacked non-message frames: the next sync is a reconnect
    // even if this one closed before its SyncComplete.
    if (this.welcomedThisSocket) this.welcomedBefore = true;
    this.clearTimers();
    this.pendingAcks = [];
    if (this.closedByUser) return;
    if (code === CLOSE_UPGRADE_REQUIRED) {
      // Reconnecting would be refused the same way until the app ships a newer SDK.
      this.emit("error", new RealtimeUpgradeRequiredError(reason, subprotocolsFor(this.protocol)));
      this.closedByUser = true;
      this.streams.close();
      this.setState("closed");
      return;
    }
    this.setState("connecting");
    if (code === CLOSE_UNAUTHENTICATED) {
      this.emit("error", { code: "unauthenticated", message: reason, closeCode: code });
      const rejected = this.token;
      let fresh: string | undefined;
      try {
        fresh = await this.opts.getAccessToken();
      } catch {
        fresh = undefined;
      }
      // Retrying with the very token the server just refused would only be refused again.
      if (fresh === undefined || fresh === rejected) {
        this.closedByUser = true;
        this.streams.close();
        this.setState("closed");
        return;
      }
    }
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closedByUser) return;
    const serverWindow = this.serverRetryAfterMs;
    this.serverRetryAfterMs = undefined;
    const delay =
      serverWindow !== undefined
        ? Math.floor(Math.random() * serverWindow)
        : backoffDelayMs(this.attempt++, this.opts.backoff?.baseMs, this.opts.backoff?.capMs);
    this.reconnectTimer = setTimeout(() => void this.connect(), delay);
  }

  private async nextUrl(): Promise<string> {
    const source = this.opts.url;
    if (typeof source === "string") return source;
    if (typeof source === "function") return source();
    if (source.length === 0) throw new Error("RealtimeClient: empty url list");
    return source[this.urlIndex++ % source.length]!;
  }

  /** Fills [fromSeq+1, toSeq] from history when a MessageService client was given; else the app's "gap" listener does. */
  private async handleGap(info: GapInfo): Promise<void> {
    this.emit("gap", info);
    const history = this.opts.messages;
    if (!history) return;
    let after = info.fromSeq;
    try {
      while (after < info.toSeq) {
        const page = await history.listMessages({
          conversationId: info.conversationId,
          cursorSeq: after,
          direction: ListDirection.FORWARD,
          limit: HISTORY_PAGE,
        });
        for (const m of page.messages) {
          if (m.seq > info.toSeq) break;
          this.streams.accept(m);
          after = m.seq;
        }
        if (!page.hasMore || page.messages.length === 0) break;
      }
    } catch (err) {
      this.emit("error", { code: "unavailable", message: `filling gap in ${info.conversationId} failed: ${err instanceof Error ? err.message : String(err)}` });
    }
  }

  private scheduleReauth(expiresAtMs: number): void {
    if (this.reauthTimer) clearTimeout(this.reauthTimer);
    const remaining = expiresAtMs - Date.now();
    // A minute before expiry, or halfway for very short tokens.
    const inMs = Math.max(1_000, remaining > 120_000 ? remaining - 60_000 : remaining / 2);
    this.reauthTimer = setTimeout(() => void this.reauthenticate(), inMs);
  }

  private async reauthenticate(): Promise<void> {
    this.reauthTimer = undefined;
    try {
      const token = await this.opts.getAccessToken();
      if (token !== this.token && this.send({ kind: { case: "reauthenticate", value: { accessToken: token } } })) this.token = token;
      this.scheduleReauth(jwtExpiryMs(token) ?? Date.now() + 60_000);
    } catch (err) {
      this.emit("error", { code: "unauthenticated", message: `token refresh failed: ${err instanceof Error ? err.message : String(err)}` });
      this.reauthTimer = setTimeout(() => void this.reauthenticate(), 10_000);
    }
  }

  private queueAck(id: bigint): void {
    this.pendingAcks.push(id);
    if (this.ackTimer) return;
    const interval = this.opts.ackIntervalMs ?? 50;
    const paced = this.lastAckAtMs + interval * ACK_GAP_FACTOR - Date.now();
    this.ackTimer = setTimeout(() => this.flushAcks(), Math.max(interval, paced));
  }

  private flushAcks(): void {
    if (this.ackTimer) clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    if (this.pendingAcks.length === 0) return;
    const ids = this.pendingAcks;
    this.pendingAcks = [];
    this.lastAckAtMs = Date.now();
    // The edge takes at most 8,192 ids per Ack frame; 1,000 also keeps a frame far below 64 KiB.
    for (let i = 0; i < ids.length; i += ACK_IDS_PER_FRAME) {
      this.send({ kind: { case: "ack", value: { deliveryIds: ids.slice(i, i + ACK_IDS_PER_FRAME) } } });
    }
  }

  private send(frame: ClientFrameInit): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== OPEN) return false;
    ws.send(encodeClientFrame(frame, this.protocol));
    return true;
  }

  private setState(state: RealtimeState): void {
    if (this.currentState === state) return;
    this.currentState = state;
    this.emit("state", state);
  }

  private clearTimers(): void {
    for (const t of [this.ackTimer, this.reauthTimer, this.reconnectTimer]) if (t) clearTimeout(t);
    this.ackTimer = this.reauthTimer = this.reconnectTimer = undefined;
  }
}
