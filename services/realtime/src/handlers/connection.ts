/**
 * One WebSocket's delivery state: delivery ids, unacked frames, and the live
 * frames held back while the socket has not said Hello yet or a conversation
 * is still catching up. Kept small (lazy maps, no per-socket timers; the
 * node-wide sweeper drives resends and token checks) because an idle socket
 * should cost well under 2 KiB.
 */
import type { WebSocket } from "uWebSockets.js";
import { create } from "@bufbuild/protobuf";
import { ErrorSchema } from "@parley/gen/parley/realtime/v1/frames_pb";
import type { AccessClaims } from "@parley/platform";
import { OutFrame, serverFrame } from "./codec.js";
import type { EdgeContext } from "./context.js";
import { SocketHandle } from "./socket-handle.js";

/** What the token check and admission (started at the upgrade) decided, consumed after open. */
export type Handshake =
  | { ok: true; claims: AccessClaims; token: string; json: boolean; leaseId: string }
  /**
   * errorCode: the Error frame's code before the close (default "unauthenticated").
   * frame false: close without an Error frame (the client speaks no protocol version of ours).
   */
  | { ok: false; closeCode: number; reason: string; json: boolean; errorCode?: string; frame?: false };

export interface SocketData {
  conn: Connection | undefined;
  /** The token check and admission, started at the upgrade; never rejects; taken by open. */
  handshake: Promise<Handshake> | undefined;
  /** Set first thing by the close handler: a socket closed before its handshake settled is never touched again. */
  closed: boolean;
}

/**
 * Unacked frames of one socket, by delivery id. Ids are issued consecutively
 * and acked mostly in order, so parallel arrays indexed by `id - base` and
 * trimmed from the front replace a Map entry plus an object per frame (GC was
 * ~11% of the edge's CPU in the fan-out bench, with 100k frames/s in flight).
 */
class PendingFrames {
  private out: Array<OutFrame | undefined> = [];
  private sentAtMs: number[] = [];
  private resends: number[] = [];
  /** Slots before head are all acked. */
  private head = 0;
  size = 0;
  /** `base` is the delivery id of slot 0; add() must be called with base, base+1, ... */
  constructor(private base: number) {}

  add(out: OutFrame, nowMs: number): void {
    this.out.push(out);
    this.sentAtMs.push(nowMs);
    this.resends.push(0);
    this.size++;
  }

  delete(id: number): boolean {
    const i = id - this.base;
    if (i < this.head || i >= this.out.length || this.out[i] === undefined) return false;
    this.out[i] = undefined;
    this.size--;
    while (this.head < this.out.length && this.out[this.head] === undefined) this.head++;
    // Amortised O(1): drop the acked prefix once it is most of the arrays.
    if (this.head >= 64 && this.head * 2 >= this.out.length) {
      this.out.splice(0, this.head);
      this.sentAtMs.splice(0, this.head);
      this.resends.splice(0, this.head);
      this.base += this.head;
      this.head = 0;
    }
    return true;
  }

  /**
   * Calls `due` for each frame unacked for resendAfterMs, in id order, after
   * counting the re-send and restarting its clock. Stops (returning that id)
   * at the first frame that already used up maxResends.
   */
  resendDue(nowMs: number, resendAfterMs: number, maxResends: number, due: (id: number, out: OutFrame) => void): number | undefined {
    for (let i = this.head; i < this.out.length; i++) {
      const out = this.out[i];
      if (out === undefined || nowMs - this.sentAtMs[i]! < resendAfterMs) continue;
      if (this.resends[i]! >= maxResends) return this.base + i;
      this.resends[i]!++;
      this.sentAtMs[i] = nowMs;
      due(this.base + i, out);
    }
    return undefined;
  }
}

/** Live frames of a conversation held back until its catch-up has been sent. */
interface SyncHold {
  held: OutFrame[];
  /** Highest seq catch-up has sent (or covered by a Gap): held messages at or below it are duplicates. */
  sentUpTo: bigint;
}

/**
 * Sockets with queued frames, written once per event-loop turn (setImmediate).
 * A send outside a uWS callback is not corked: uWS writes it to the kernel on
 * the spot, one syscall per frame, which was ~12 µs per frame and the edge's
 * biggest cost in the 1,000-member fan-out (≈24% of its CPU in ws.send). Queued
 * and written inside ws.cork(), everything a socket got in one turn (several
 * EdgeDeliveries of a batch, a catch-up page, a re-send round) goes out in one
 * write. Under light load a turn holds one frame and this adds no delay beyond
 * the current turn; under load batches grow by themselves.
 */
const queuedSockets: Connection[] = [];
let flushScheduled = false;

function flushQueuedSockets(): void {
  flushScheduled = false;
  const sockets = queuedSockets.splice(0);
  for (const conn of sockets) conn.flush();
}

export const CLOSE_SLOW_CONSUMER = 4008;
export const CLOSE_UNAUTHENTICATED = 4401;
export const CLOSE_BAD_CLIENT = 4400;

export class Connection {
  /** Every uWS call goes through this guard: no-op once the socket closed (see socket-handle.ts). */
  private readonly socket: SocketHandle<SocketData>;
  claims: AccessClaims;
  token: string;
  nextTokenCheckMs: number;
  /** 0 = waiting for Hello. */
  private phase: 0 | 1 = 0;
  private nextDeliveryId = 1;
  private pending: PendingFrames | undefined;
  private preHello: OutFrame[] | undefined;
  private syncing: Map<string, SyncHold> | undefined;
  private ackWaiters: Array<() => void> | undefined;
  /** Frames (and their delivery ids, 0 = control) waiting for this turn's flush, in send order. */
  private outFrames: OutFrame[] | undefined;
  private outIds: number[] | undefined;
  readonly openedAtMs = Date.now();
  lastTypingMs = 0;
  badFrames = 0;
  /** Per-socket member cache for typing (lazy: most sockets never type). */
  memberCache: Map<string, { memberIds: string[]; untilMs: number }> | undefined;
  /** Cursors of a Hello{more: true} still arriving in ResumeCursors frames (see resume.ts). */
  collectingCursors: Map<string, bigint> | undefined;
  /** Bumped per PresenceSubscribe: an older request still awaiting chat must not install itself. */
  presenceSubscribeSeq = 0;

  constructor(
    readonly ctx: EdgeContext,
    ws: WebSocket<SocketData>,
    claims: AccessClaims,
    token: string,
    readonly json: boolean,
  ) {
    this.socket = new SocketHandle(ws);
    this.claims = claims;
    this.token = token;
    this.nextTokenCheckMs = Date.now() + ctx.tuning.tokenCheckMs;
  }

  get userId(): string {
    return this.claims.userId;
  }
  get closed(): boolean {
    return this.socket.closed;
  }
  get helloReceived(): boolean {
    return this.phase === 1;
  }
  get pendingCount(): number {
    return this.pending?.size ?? 0;
  }

  /** A frame that must be acked: delivered now, or held while the socket/conversation syncs. */
  deliver(out: OutFrame): void {
    if (this.closed) return;
    if (this.phase === 0) {
      (this.preHello ??= []).push(out);
      if (this.preHello.length > this.ctx.tuning.maxPending) this.closeSlow("too many frames before Hello");
      return;
    }
    const conversationId = out.conversationId;
    const hold = conversationId === undefined ? undefined : this.syncing?.get(conversationId);
    if (hold) {
      hold.held.push(out);
      if (hold.held.length > this.ctx.tuning.maxPending) this.closeSlow("too many live frames during catch-up");
      return;
    }
    this.transmit(out);
  }

  /** Frames without delivery id: welcome, errors, pongs, sync complete, reconnect, typing. */
  sendControl(out: OutFrame): void {
    this.write(out, 0);
  }

  sendError(code: string, message: string): void {
    this.sendControl(new OutFrame(serverFrame("error", create(ErrorSchema, { code, message }))));
  }

  /** Sends now with a fresh delivery id, bypassing holds (catch-up itself uses this). */
  transmit(out: OutFrame): void {
    if (this.closed) return;
    const id = this.nextDeliveryId++;
    (this.pending ??= new PendingFrames(id)).add(out, Date.now());
    if (this.pending.size > this.ctx.tuning.maxPending) {
      this.closeSlow("too many unacked frames");
      return;
    }
    this.ctx.pendingSockets.add(this);
    this.ctx.metrics.framesSent.inc();
    const k = out.frame.kind;
    if (k.case === "message" && k.value.createdAt) {
      const createdMs = Number(k.value.createdAt.seconds) * 1000 + k.value.createdAt.nanos / 1e6;
      this.ctx.metrics.deliveryLatency.observe(Math.max(0, Date.now() - createdMs) / 1000);
    }
    this.write(out, id);
  }

  /**
   * Acks delivery ids. Ids already acked are benign (a frame and its re-send
   * both got acked) and only counted; ids this socket never issued are
   * returned so the caller can tell the client it is confused.
   */
  ack(ids: readonly bigint[]): { neverSent: number } {
    let unknown = 0;
    let neverSent = 0;
    for (const raw of ids) {
      // Compared as numbers: no BigInt allocated per id. Ids beyond 2^53 lose precision but stay above nextDeliveryId.
      const id = Number(raw);
      if (id <= 0 || id >= this.nextDeliveryId) {
        neverSent++;
        continue;
      }
      if (this.pending?.delete(id)) this.ctx.metrics.framesAcked.inc();
      else unknown++;
    }
    if (unknown + neverSent > 0) this.ctx.metrics.unknownAcks.inc(unknown + neverSent);
    if (this.pending && this.pending.size === 0) {
      this.pending = undefined;
      this.ctx.pendingSockets.delete(this);
    }
    this.wakeAckWaiters();
    return { neverSent };
  }

  /** Re-sends frames unacked for resendAfterMs; a frame that used up its re-sends closes the socket. */
  resendDue(nowMs: number): void {
    if (!this.pending) return;
    const { resendAfterMs, maxResends } = this.ctx.tuning;
    const exhausted = this.pending.resendDue(nowMs, resendAfterMs, maxResends, (id, out) => {
      this.ctx.metrics.framesResent.inc();
      this.write(out, id);
    });
    if (exhausted !== undefined) this.closeSlow(`delivery ${exhausted} not acked after ${maxResends} re-sends`);
  }

  /** Hello received: the conversations in `cursors` hold their live frames until endSync(). */
  beginSync(conversationIds: Iterable<string>): void {
    this.phase = 1;
    for (const id of conversationIds) {
      (this.syncing ??= new Map()).set(id, { held: [], sentUpTo: 0n });
    }
    const early = this.preHello;
    this.preHello = undefined;
    if (early) for (const out of early) this.deliver(out);
  }

  noteCaughtUp(conversationId: string, seq: bigint): void {
    const hold = this.syncing?.get(conversationId);
    if (hold && seq > hold.sentUpTo) hold.sentUpTo = seq;
  }

  /** Catch-up of one conversation is done: send what was held, minus messages catch-up already sent. */
  endSync(conversationId: string): void {
    const hold = this.syncing?.get(conversationId);
    if (!hold) return;
    this.syncing!.delete(conversationId);
    if (this.syncing!.size === 0) this.syncing = undefined;
    for (const out of hold.held) {
      const seq = out.messageSeq;
      if (seq !== undefined && seq <= hold.sentUpTo) continue;
      this.transmit(out);
    }
  }

  /** Resolves once unacked frames drop to half the limit (catch-up paces itself on acks) or the socket closes. */
  async waitForAckRoom(): Promise<void> {
    const limit = this.ctx.tuning.maxPending / 2;
    while (!this.closed && this.pendingCount > limit) {
      await new Promise<void>((resolve) => (this.ackWaiters ??= []).push(resolve));
    }
  }

  private wakeAckWaiters(): void {
    const waiters = this.ackWaiters;
    if (!waiters) return;
    this.ackWaiters = undefined;
    for (const w of waiters) w();
  }

  /** Never drop a frame silently: a socket that cannot keep up is closed and resumes from its cursors. */
  closeSlow(detail: string): void {
    if (this.closed) return;
    this.ctx.metrics.slowConsumerCloses.inc();
    this.ctx.logger.info({ userId: this.userId, detail }, "closing slow consumer");
    this.close(CLOSE_SLOW_CONSUMER, "slow consumer; resume to catch up");
  }

  close(code: number, reason: string): void {
    // What was queued before the close (an Error frame, a Reconnect) goes out before the close frame.
    this.flush();
    // end() runs the close handler synchronously, which calls released().
    this.socket.end(code, reason);
  }

  /** Called from the uWS close handler: the socket object is invalid from here on. */
  released(): void {
    this.socket.markClosed();
    this.pending = undefined;
    this.preHello = undefined;
    this.syncing = undefined;
    this.collectingCursors = undefined;
    this.outFrames = undefined;
    this.outIds = undefined;
    this.ctx.pendingSockets.delete(this);
    this.wakeAckWaiters();
  }

  /** Queues a frame for this turn's corked flush (order per socket is queue order). */
  private write(out: OutFrame, deliveryId: number): void {
    if (this.closed) return;
    if (!this.outFrames) {
      this.outFrames = [];
      this.outIds = [];
      queuedSockets.push(this);
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flushQueuedSockets);
      }
    }
    this.outFrames.push(out);
    this.outIds!.push(deliveryId);
  }

  /** Writes the queued frames in one corked batch (called by the turn's flush, and before a close). */
  flush(): void {
    const frames = this.outFrames;
    const ids = this.outIds;
    this.outFrames = undefined;
    this.outIds = undefined;
    const socket = this.socket;
    if (socket.closed || !frames || !ids) return;
    const { maxBufferedBytes } = this.ctx.tuning;
    let slow: string | undefined;
    // Checked once per batch: inside cork the bytes only pile up in the cork buffer, which the
    // buffered amount does not count, so a per-frame check (a native call each) told nothing new.
    if (socket.bufferedAmount() > maxBufferedBytes) {
      this.closeSlow("send buffer over limit");
      return;
    }
    socket.cork(() => {
      for (let i = 0; i < frames.length; i++) {
        // encodeTransient's buffer is reused by the next socket: fine, send() copies it.
        // Dropped by uWS (over maxBackpressure): close rather than lose it.
        const sent = socket.send(frames[i]!.encodeTransient(ids[i]!, this.json), !this.json);
        if (sent === "closed") return;
        if (sent === "dropped") {
          slow = "frame dropped by backpressure";
          return;
        }
      }
    });
    // Closed outside the cork callback: end() runs the close handler, which must not run mid-batch.
    if (slow !== undefined) this.closeSlow(slow);
  }
}
