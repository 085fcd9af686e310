/**
 * In-process EventBus with JetStream's semantics, for embedded mode and tests:
 * events are stored per stream (with max age), deduplicated by msgId within
 * the duplicate window; a durable group starts at the beginning of the stream
 * (DeliverPolicy.All), load-balances across its subscribers, redelivers on
 * throw (with backoff) or ack-wait expiry, and after maxDeliver moves a
 * durable's event to a bounded in-memory dead-letter queue.
 */
import type { Logger } from "pino";
import type { BusHandler, BusMessage, ConsumeOptions, EventBus, Subscription } from "../types.js";
import { MEMORY_MAX_PAYLOAD_BYTES } from "./errors.js";
import { MemoryDeadLetters } from "./memory-dead-letters.js";
import {
  DEFAULT_ACK_WAIT_MS,
  DEFAULT_MAX_DELIVER,
  DUPLICATE_WINDOW_MS,
  InFlight,
  STOP_GRACE_MS,
  STREAMS,
  deadLetterError,
  nakDelayMs,
  refuseUnpublishable,
  streamForFilters,
  streamForSubject,
  subjectMatches,
  type StreamSpec,
} from "./subjects.js";

interface StoredEvent {
  readonly seq: number;
  /** The event id handlers see (the msgId, or the original id of a replay). */
  readonly id: string;
  readonly subject: string;
  readonly data: Uint8Array;
  readonly storedAt: number;
  /** A replayed dead letter: only this consumer gets it. */
  readonly replayFor?: string;
}

/**
 * How much one in-process stream keeps. JetStream keeps 7 days on disk; in
 * RAM that is unbounded growth, and every consumer of the in-process bus lives
 * in the same process and is caught up within seconds, so minutes suffice
 * (like the edge stream). Redeliveries hold their own reference to the event,
 * so trimming never breaks a pending retry.
 */
export interface MemoryBusLimits {
  maxAgeMs: number;
  maxEvents: number;
  maxBytes: number;
}

export const DEFAULT_MEMORY_BUS_LIMITS: MemoryBusLimits = { maxAgeMs: 10 * 60_000, maxEvents: 100_000, maxBytes: 64 * 1024 * 1024 };

class MemoryStream {
  readonly events: StoredEvent[] = [];
  nextSeq = 1;
  /** Payload bytes of `events`. */
  bytes = 0;
  /** msgId -> expiry; insertion order is expiry order, since the window is constant. */
  private readonly seen = new Map<string, number>();
  readonly groups = new Set<Group>();
  private readonly maxAgeMs: number;

  constructor(
    readonly spec: StreamSpec,
    private readonly limits: MemoryBusLimits,
    private readonly logger: Logger,
  ) {
    this.maxAgeMs = Math.min(spec.maxAgeMs, limits.maxAgeMs);
  }

  /** Drops the oldest events beyond the age, count and byte limits. */
  private trim(now: number): void {
    let unconsumed = 0;
    const slowest = Math.min(...[...this.groups].map((g) => g.position));
    while (this.events.length > 0) {
      const first = this.events[0]!;
      // The newest event always stays: a consumer must get the chance to see it.
      const over = this.events.length > 1 && (this.events.length > this.limits.maxEvents || this.bytes > this.limits.maxBytes);
      if (!over && first.storedAt >= now - this.maxAgeMs) break;
      this.events.shift();
      this.bytes -= first.data.byteLength;
      if (first.seq >= slowest) unconsumed++;
    }
    if (unconsumed > 0) this.logger.warn({ stream: this.spec.name, dropped: unconsumed }, "in-process bus dropped events a consumer had not reached (retention limit)");
  }

  /** Returns false for a duplicate msgId. */
  append(subject: string, data: Uint8Array, msgId: string, replay?: { eventId: string; consumer: string }): boolean {
    const now = Date.now();
    for (const [id, expiresAt] of this.seen) {
      if (expiresAt > now) break;
      this.seen.delete(id);
    }
    if (this.seen.has(msgId)) return false;
    this.seen.set(msgId, now + DUPLICATE_WINDOW_MS);
    const base = { seq: this.nextSeq++, id: replay?.eventId ?? msgId, subject, data: data.slice(), storedAt: now };
    this.events.push(replay ? { ...base, replayFor: replay.consumer } : base);
    this.bytes += data.byteLength;
    this.trim(now);
    return true;
  }

  at(seq: number): StoredEvent | undefined {
    const first = this.events[0];
    return first ? this.events[seq - first.seq] : undefined;
  }

  get firstSeq(): number {
    return this.events[0]?.seq ?? this.nextSeq;
  }
}

interface Member {
  readonly handler: BusHandler;
  readonly slots: InFlight;
}

interface Delivery {
  readonly event: StoredEvent;
  readonly count: number;
  readonly ackTimer: NodeJS.Timeout;
}

/** One consumer (a durable group, or a consumeOwn subscription) over one stream. */
class Group {
  private cursor: number;
  private readonly members: Member[] = [];
  private nextMember = 0;
  private readonly counts = new Map<number, number>();
  private readonly inflight = new Map<number, Delivery>();
  private redeliver: Array<{ event: StoredEvent; dueAt: number }> = [];
  private redeliverTimer: NodeJS.Timeout | undefined;
  private pumpQueued = false;

  constructor(
    private readonly stream: MemoryStream,
    private readonly name: string,
    private readonly filters: readonly string[],
    startSeq: number,
    private readonly maxDeliver: number,
    private readonly ackWaitMs: number,
    private readonly logger: Logger,
    /** Durable groups dead-letter; a consumeOwn group (a node's own deliveries) only logs. */
    private readonly deadLetters: MemoryDeadLetters | undefined,
  ) {
    this.cursor = startSeq;
    stream.groups.add(this);
  }

  /** The next stream sequence this consumer will look at. */
  get position(): number {
    return this.cursor;
  }

  join(member: Member): void {
    this.members.push(member);
    this.schedulePump();
  }

  leave(member: Member): void {
    const i = this.members.indexOf(member);
    if (i >= 0) this.members.splice(i, 1);
  }

  destroy(): void {
    this.stream.groups.delete(this);
    clearTimeout(this.redeliverTimer);
    for (const d of this.inflight.values()) clearTimeout(d.ackTimer);
    this.inflight.clear();
  }

  /** Deferred so a handler that publishes never re-enters the pump. */
  schedulePump(): void {
    if (this.pumpQueued) return;
    this.pumpQueued = true;
    queueMicrotask(() => {
      this.pumpQueued = false;
      this.pump();
    });
  }

  private pump(): void {
    for (;;) {
      const member = this.memberWithRoom();
      if (!member) return;
      const event = this.nextEvent();
      if (!event) return;
      this.deliver(member, event);
    }
  }

  private memberWithRoom(): Member | undefined {
    for (let i = 0; i < this.members.length; i++) {
      const m = this.members[(this.nextMember + i) % this.members.length]!;
      if (m.slots.hasRoom) {
        this.nextMember = (this.nextMember + i + 1) % this.members.length;
        return m;
      }
    }
    return undefined;
  }

  /** Due redeliveries first, then new events in stream order. */
  private nextEvent(): StoredEvent | undefined {
    const now = Date.now();
    const due = this.redeliver.findIndex((r) => r.dueAt <= now);
    if (due >= 0) return this.redeliver.splice(due, 1)[0]!.event;
    this.cursor = Math.max(this.cursor, this.stream.firstSeq);
    while (this.cursor < this.stream.nextSeq) {
      const event = this.stream.at(this.cursor++);
      if (event && (event.replayFor === undefined || event.replayFor === this.name) && this.filters.some((f) => subjectMatches(f, event.subject))) {
        return event;
      }
    }
    this.armRedeliverTimer();
    return undefined;
  }

  private armRedeliverTimer(): void {
    clearTimeout(this.redeliverTimer);
    if (this.redeliver.length === 0) return;
    const wait = Math.max(0, Math.min(...this.redeliver.map((r) => r.dueAt)) - Date.now());
    this.redeliverTimer = setTimeout(() => this.schedulePump(), wait);
  }

  private deliver(member: Member, event: StoredEvent): void {
    const count = (this.counts.get(event.seq) ?? 0) + 1;
    this.counts.set(event.seq, count);
    const ackTimer = setTimeout(() => this.ackWaitExpired(event, count), this.ackWaitMs);
    const delivery: Delivery = { event, count, ackTimer };
    this.inflight.set(event.seq, delivery);
    member.slots.take();
    const msg: BusMessage = { id: event.id, subject: event.subject, data: event.data, deliveryCount: count };
    // Called from a microtask so a handler that throws synchronously is still a nak.
    void Promise.resolve()
      .then(() => member.handler(msg))
      .then(
        () => this.settle(delivery, undefined),
        (err: unknown) => this.settle(delivery, err),
      )
      .finally(() => {
        member.slots.release();
        this.schedulePump();
      });
  }

  /** A result only counts if this delivery is still current (not expired and redelivered). */
  private settle(delivery: Delivery, err: unknown): void {
    if (this.inflight.get(delivery.event.seq) !== delivery) return;
    clearTimeout(delivery.ackTimer);
    this.inflight.delete(delivery.event.seq);
    if (err === undefined) {
      this.counts.delete(delivery.event.seq);
      return;
    }
    this.retryOrTerminate(delivery.event, delivery.count, err);
  }

  private ackWaitExpired(event: StoredEvent, count: number): void {
    this.inflight.delete(event.seq);
    this.retryOrTerminate(event, count, new Error(`not acked within ${this.ackWaitMs} ms`), 0);
  }

  private retryOrTerminate(event: StoredEvent, count: number, err: unknown, delayMs = nakDelayMs(count)): void {
    if (count >= this.maxDeliver) {
      this.counts.delete(event.seq);
      const fields = { err, consumer: this.name, subject: event.subject, eventId: event.id, deliveries: count };
      if (!this.deadLetters) {
        this.logger.error(fields, "event failed maxDeliver times; terminated");
        return;
      }
      const letter = this.deadLetters.put({
        consumer: this.name,
        eventId: event.id,
        subject: event.subject,
        data: event.data,
        error: deadLetterError(err),
        deliveries: count,
      });
      this.logger.error({ ...fields, deadLetterSeq: letter.seq }, "event failed maxDeliver times; dead-lettered");
      return;
    }
    this.logger.warn({ err, consumer: this.name, subject: event.subject, eventId: event.id, deliveries: count, retryInMs: delayMs }, "event handler failed; will redeliver");
    this.redeliver.push({ event, dueAt: Date.now() + delayMs });
    this.armRedeliverTimer();
    this.schedulePump();
  }
}

export interface MemoryBusOptions {
  logger: Logger;
  limits?: MemoryBusLimits;
  /** Largest payload accepted, like NATS' max_payload. Default 1 MiB (NATS' default). */
  maxPayloadBytes?: number;
}

export function createMemoryBus(opts: MemoryBusOptions): EventBus {
  const maxPayload = opts.maxPayloadBytes ?? MEMORY_MAX_PAYLOAD_BYTES;
  const logger = opts.logger.child({ component: "bus", kind: "memory" });
  const limits = opts.limits ?? DEFAULT_MEMORY_BUS_LIMITS;
  const streams = new Map(STREAMS.map((s) => [s.name, new MemoryStream(s, limits, logger)]));
  const durables = new Map<string, { group: Group; key: string }>();
  const deadLetters = new MemoryDeadLetters(logger, (letter) => {
    const stream = streamOf(streamForSubject(letter.subject));
    const replayed = stream.append(letter.subject, letter.data, `${letter.eventId}~replay~${letter.seq}`, { eventId: letter.eventId, consumer: letter.consumer });
    if (replayed) for (const g of stream.groups) g.schedulePump();
  });
  const subscriptions = new Set<Subscription>();
  let closed = false;

  const streamOf = (spec: StreamSpec): MemoryStream => streams.get(spec.name)!;

  function subscribe(group: Group, opts: ConsumeOptions | (Omit<ConsumeOptions, "durable"> & { name: string }), onStop: () => void): Subscription {
    if (closed) throw new Error("bus: closed");
    const member: Member = { handler: opts.handler, slots: new InFlight(opts.concurrency ?? 1) };
    group.join(member);
    let stopped = false;
    const sub: Subscription = {
      async stop() {
        if (stopped) return;
        stopped = true;
        group.leave(member);
        subscriptions.delete(sub);
        await member.slots.drained(STOP_GRACE_MS);
        onStop();
      },
    };
    subscriptions.add(sub);
    return sub;
  }

  return {
    async publish(subject, data, msgId) {
      if (closed) throw new Error(`bus: closed; cannot publish ${subject}`);
      refuseUnpublishable(subject, data, maxPayload);
      const stream = streamOf(streamForSubject(subject));
      if (stream.append(subject, data, msgId)) for (const g of stream.groups) g.schedulePump();
    },

    async consume(o) {
      const spec = streamForFilters(o.subjects, o.durable);
      // A durable's identity is its name; reusing it with other filters is a bug in the caller.
      const key = JSON.stringify([...o.subjects].sort());
      let entry = durables.get(o.durable);
      if (entry && entry.key !== key) {
        throw new Error(`bus: durable "${o.durable}" already exists with subjects ${entry.key}, not ${key}`);
      }
      if (!entry) {
        const stream = streamOf(spec);
        const group = new Group(stream, o.durable, o.subjects, stream.firstSeq, o.maxDeliver ?? DEFAULT_MAX_DELIVER, o.ackWaitMs ?? DEFAULT_ACK_WAIT_MS, logger, deadLetters);
        entry = { group, key };
        durables.set(o.durable, entry);
      }
      return subscribe(entry.group, o, () => undefined);
    },

    async consumeOwn(o) {
      const stream = streamOf(streamForFilters(o.subjects, o.name));
      const group = new Group(stream, o.name, o.subjects, stream.nextSeq, o.maxDeliver ?? DEFAULT_MAX_DELIVER, o.ackWaitMs ?? DEFAULT_ACK_WAIT_MS, logger, undefined);
      return subscribe(group, o, () => group.destroy());
    },

    async ping() {
      if (closed) throw new Error("bus: closed");
    },

    deadLetters,

    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([...subscriptions].map((s) => s.stop()));
      for (const { group } of durables.values()) group.destroy();
    },
  };
}
