/**
 * Per-conversation ordering and dedupe on the client. Frames can arrive out of
 * seq order (a re-send after a lost frame, catch-up racing live delivery, a
 * socket moving to another node) and twice (re-sends, resume overlapping live
 * delivery), so each conversation keeps its highest
 * contiguous seq (the cursor sent in Hello), holds early messages back until
 * the hole fills, and drops anything at or below the cursor or already seen by
 * id. A hole that does not fill within `holdMs` is reported as a gap, never
 * skipped silently.
 */
import type { Message } from "@parley/gen/parley/chat/v1/message_pb";

export interface GapInfo {
  conversationId: string;
  /** The client holds up to fromSeq... */
  fromSeq: bigint;
  /** ...and is missing everything up to toSeq (inclusive). */
  toSeq: bigint;
}

interface StreamState {
  cursor: bigint;
  held: Map<bigint, Message>;
  gapTimer: ReturnType<typeof setTimeout> | undefined;
}

export interface OrderedStreamsOptions {
  deliver(message: Message): void;
  /** A hole that did not fill in time. Resolves when the caller has done what it can (e.g. paged history). */
  gap(info: GapInfo): Promise<void>;
  holdMs: number;
  /** Remembered message ids for dedupe. */
  maxRememberedIds?: number;
}

export class OrderedStreams {
  private readonly streams = new Map<string, StreamState>();
  private readonly seenIds = new Map<string, true>();
  private readonly maxIds: number;
  private holds = 0;
  private duplicates = 0;

  constructor(private readonly opts: OrderedStreamsOptions) {
    this.maxIds = opts.maxRememberedIds ?? 20_000;
  }

  /** Sets a conversation's cursor if the client had none (initial cursors, a conversation frame's last_seq). */
  seed(conversationId: string, seq: bigint): void {
    if (!this.streams.has(conversationId)) this.streams.set(conversationId, { cursor: seq, held: new Map(), gapTimer: undefined });
  }

  /** Drops a conversation (the user left it): no cursor, nothing held, no pending gap. */
  forget(conversationId: string): void {
    const s = this.streams.get(conversationId);
    if (s?.gapTimer) clearTimeout(s.gapTimer);
    this.streams.delete(conversationId);
  }

  cursors(): Record<string, bigint> {
    const out: Record<string, bigint> = {};
    for (const [id, s] of this.streams) out[id] = s.cursor;
    return out;
  }

  /**
   * Messages that arrived ahead of a hole and were held back. The edge delivers
   * each conversation in order, so this stays ~0 unless frames were lost or
   * re-sent; tests and the bench read it to show that.
   */
  get reorderHolds(): number {
    return this.holds;
  }

  /**
   * Message frames dropped because the client already had that message (by id, at or below the
   * cursor, or already held): re-sends after a lost ack, resume overlapping live delivery. What a
   * chaos run counts as "duplicates before client dedupe"; the app never sees them.
   */
  get duplicatesDropped(): number {
    return this.duplicates;
  }

  cursorOf(conversationId: string): bigint | undefined {
    return this.streams.get(conversationId)?.cursor;
  }

  accept(message: Message): void {
    if (this.seenIds.has(message.id)) {
      this.duplicates++;
      return;
    }
    // A conversation the client knew nothing about starts at 0: anything
    // earlier than the first message seen is reported as a gap, not assumed.
    this.seed(message.conversationId, 0n);
    const s = this.streams.get(message.conversationId)!;
    if (message.seq <= s.cursor) {
      this.duplicates++;
      this.remember(message.id);
      return;
    }
    if (message.seq !== s.cursor + 1n) {
      if (!s.held.has(message.seq)) this.holds++;
      else this.duplicates++;
      s.held.set(message.seq, message);
      s.gapTimer ??= setTimeout(() => void this.reportGap(message.conversationId), this.opts.holdMs);
      return;
    }
    this.emit(s, message);
    // In-order arrival with nothing held is the common case: no held map lookup (and no BigInt for it).
    if (s.held.size > 0 || s.gapTimer) this.drainHeld(message.conversationId, s);
  }

  /** Everything up to `seq` is accounted for elsewhere (a server Gap the app pages itself). */
  skipTo(conversationId: string, seq: bigint): void {
    this.seed(conversationId, seq);
    const s = this.streams.get(conversationId)!;
    if (seq > s.cursor) s.cursor = seq;
    for (const heldSeq of [...s.held.keys()]) if (heldSeq <= s.cursor) s.held.delete(heldSeq);
    this.drainHeld(conversationId, s);
  }

  close(): void {
    for (const s of this.streams.values()) {
      if (s.gapTimer) clearTimeout(s.gapTimer);
      s.gapTimer = undefined;
    }
  }

  private emit(s: StreamState, message: Message): void {
    s.cursor = message.seq;
    this.remember(message.id);
    this.opts.deliver(message);
  }

  private drainHeld(conversationId: string, s: StreamState): void {
    for (let next = s.held.get(s.cursor + 1n); next; next = s.held.get(s.cursor + 1n)) {
      s.held.delete(next.seq);
      if (!this.seenIds.has(next.id)) this.emit(s, next);
      else {
        this.duplicates++;
        s.cursor = next.seq;
      }
    }
    if (s.held.size === 0 && s.gapTimer) {
      clearTimeout(s.gapTimer);
      s.gapTimer = undefined;
    }
    if (s.held.size > 0) s.gapTimer ??= setTimeout(() => void this.reportGap(conversationId), this.opts.holdMs);
  }

  private async reportGap(conversationId: string): Promise<void> {
    const s = this.streams.get(conversationId);
    if (!s) return;
    s.gapTimer = undefined;
    if (s.held.size === 0) return;
    const firstHeld = [...s.held.keys()].reduce((a, b) => (a < b ? a : b));
    const info = { conversationId, fromSeq: s.cursor, toSeq: firstHeld - 1n };
    await this.opts.gap(info);
    // Filled or handed to the app: either way the held messages go out now.
    this.skipTo(conversationId, info.toSeq);
  }

  private remember(id: string): void {
    this.seenIds.set(id, true);
    if (this.seenIds.size > this.maxIds) this.seenIds.delete(this.seenIds.keys().next().value!);
  }
}
