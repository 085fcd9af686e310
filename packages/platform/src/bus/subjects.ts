/**
 * Streams, subject matching and redelivery policy shared by the JetStream and
 * in-process buses, so both accept and route exactly the same subjects.
 */
import { UnpublishableEventError } from "./errors.js";

export interface StreamSpec {
  /** Stream name without namespace suffix. */
  readonly name: string;
  /** Subject filters without namespace prefix. */
  readonly subjects: readonly string[];
  readonly maxAgeMs: number;
}

/**
 * Broker-side dedupe window for `Nats-Msg-Id`. The outbox relay retries a
 * failed batch within seconds (its backoff is capped at 5 s), so 2 minutes is
 * far longer than the window in which a row can be republished.
 */
export const DUPLICATE_WINDOW_MS = 2 * 60_000;

/**
 * The durable stream lists each service prefix, so nothing else published
 * under `parley.` lands in it. Typing and presence signals
 * (`parley.realtime.>`) are worthless after seconds and far more frequent than
 * domain events, so they get a one-minute stream of their own instead of seven
 * days in the durable one.
 *
 * A server that still has the PARLEY_EDGE stream of earlier versions (per-node
 * edge deliveries, `parley.edge.>`) keeps it untouched and unused: its
 * subjects overlap no stream here, and nothing publishes to it any more, so an
 * operator may delete it at leisure.
 */
export const STREAMS: readonly StreamSpec[] = [
  {
    name: "PARLEY",
    subjects: ["parley.identity.>", "parley.chat.>", "parley.notification.>"],
    maxAgeMs: 7 * 24 * 3600_000,
  },
  { name: "PARLEY_SIGNALS", subjects: ["parley.realtime.>"], maxAgeMs: 60_000 },
];

/**
 * Dead letters: not in STREAMS, so `publish` refuses these subjects and no
 * consumer filter can reach them; only the bus's dead-letter code writes here.
 */
export const DEAD_LETTER_STREAM: StreamSpec = { name: "PARLEY_DLQ", subjects: ["parley.dlq.>"], maxAgeMs: 30 * 24 * 3600_000 };

/** `parley.dlq.<consumer>`; durable names are already subject-safe after this. */
export function deadLetterSubject(consumer: string): string {
  return `parley.dlq.${consumer.replace(/[^A-Za-z0-9_-]/g, "_")}`;
}

/** Headers of dead letters and replays. */
export const DLQ_HEADERS = {
  /** On a replayed event: only this consumer handles it, every other consumer acks it unseen. */
  replayFor: "Parley-Replay-For",
  /** The original event id (Nats-Msg-Id of a replay must differ, or the broker's dedupe drops it). */
  eventId: "Parley-Event-Id",
  subject: "Parley-Subject",
  consumer: "Parley-Consumer",
  error: "Parley-Error",
  deliveries: "Parley-Deliveries",
} as const;

/** Handler errors as kept in a dead letter: message chain, one line, bounded. */
export function deadLetterError(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, depth = 0; e !== undefined && depth < 4; depth++) {
    parts.push(e instanceof Error ? e.message : String(e));
    e = e instanceof Error ? e.cause : undefined;
  }
  return parts.join(": ").replace(/[\r\n]+/g, " ").slice(0, 500);
}

/** NATS subject matching: `*` = one token, `>` = one or more trailing tokens. */
export function subjectMatches(filter: string, subject: string): boolean {
  const f = filter.split(".");
  const s = subject.split(".");
  for (let i = 0; i < f.length; i++) {
    const token = f[i];
    if (token === ">") return s.length > i;
    if (i >= s.length) return false;
    if (token !== "*" && token !== s[i]) return false;
  }
  return f.length === s.length;
}

/** Whether some subject can match both filters (NATS rejects overlapping consumer filters). */
function filtersOverlap(a: string, b: string): boolean {
  const x = a.split(".");
  const y = b.split(".");
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const p = x[i];
    const q = y[i];
    if (p === ">" || q === ">") return p !== undefined && q !== undefined;
    if (p === undefined || q === undefined) return false;
    if (p !== "*" && q !== "*" && p !== q) return false;
  }
  return true;
}

/** The stream holding a published subject; throws if no stream stores it. */
export function streamForSubject(subject: string): StreamSpec {
  const stream = STREAMS.find((s) => s.subjects.some((f) => subjectMatches(f, subject)));
  if (!stream) {
    throw new Error(`bus: no stream stores subject "${subject}" (expected parley.<identity|chat|notification|realtime>.…)`);
  }
  return stream;
}

/**
 * Throws `UnpublishableEventError` for an event no retry can publish: a
 * subject no stream stores, or a payload over the server's max_payload
 * (headers need room too, hence the margin).
 */
export function refuseUnpublishable(subject: string, data: Uint8Array, maxPayload: number | undefined): void {
  try {
    streamForSubject(subject);
  } catch (err) {
    throw new UnpublishableEventError(err instanceof Error ? err.message : `bus: cannot publish ${subject}`, { cause: err });
  }
  if (maxPayload !== undefined && data.byteLength + HEADER_ROOM_BYTES > maxPayload) {
    throw new UnpublishableEventError(`bus: event on ${subject} is ${data.byteLength} bytes; the broker's max_payload is ${maxPayload}`);
  }
}

/** Room kept for Nats-Msg-Id and the other headers of an event. */
const HEADER_ROOM_BYTES = 4 * 1024;

/**
 * The one stream a consumer's filters live in. A consumer spanning both
 * streams would need two consumers with no ordering between them, so it is
 * rejected rather than silently split.
 */
export function streamForFilters(subjects: readonly string[], consumer: string): StreamSpec {
  if (subjects.length === 0) throw new Error(`bus: consumer "${consumer}" has no subjects`);
  const streams = new Set<StreamSpec>();
  for (const filter of subjects) {
    const hits = STREAMS.filter((s) => s.subjects.some((f) => filtersOverlap(f, filter)));
    if (hits.length === 0) throw new Error(`bus: consumer "${consumer}" subject "${filter}" matches no stream`);
    for (const h of hits) streams.add(h);
  }
  if (streams.size > 1) {
    throw new Error(`bus: consumer "${consumer}" subjects ${JSON.stringify(subjects)} span several streams; use one consumer per stream`);
  }
  for (let i = 0; i < subjects.length; i++) {
    for (let j = i + 1; j < subjects.length; j++) {
      if (filtersOverlap(subjects[i]!, subjects[j]!)) {
        throw new Error(`bus: consumer "${consumer}" subjects "${subjects[i]}" and "${subjects[j]}" overlap`);
      }
    }
  }
  return [...streams][0]!;
}

/**
 * Delay before redelivering a failed event. A bare nak redelivers at once and
 * a failing handler would spin hot, so the delay doubles with each delivery.
 */
export function nakDelayMs(deliveryCount: number): number {
  return Math.min(200 * 2 ** Math.max(0, deliveryCount - 1), MAX_NAK_DELAY_MS);
}

const MAX_NAK_DELAY_MS = 60_000;

/**
 * 20 deliveries with the delays above span ≈ 12 minutes (0.2 s doubling to
 * 60 s, then 60 s apart): a Redis or peer outage of several minutes is
 * retried through, not dead-lettered. (10 deliveries capped at 30 s gave up
 * after ≈ 80 s.)
 */
export const DEFAULT_MAX_DELIVER = 20;
export const DEFAULT_ACK_WAIT_MS = 30_000;

/** How long stop() waits for running handlers before giving up on them (their events get redelivered). */
export const STOP_GRACE_MS = 5_000;

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** Bounds in-flight handlers (`concurrency`) and lets stop() wait for them. */
export class InFlight {
  private running = 0;
  private waiters: Array<() => void> = [];
  private idle: Array<() => void> = [];
  constructor(private readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`bus: concurrency must be a positive integer, got ${limit}`);
  }
  get count(): number {
    return this.running;
  }
  get limitHint(): number {
    return this.limit;
  }
  get hasRoom(): boolean {
    return this.running < this.limit;
  }
  async acquire(): Promise<void> {
    while (this.running >= this.limit) await new Promise<void>((r) => this.waiters.push(r));
    this.running++;
  }
  /** For callers that checked hasRoom synchronously. */
  take(): void {
    this.running++;
  }
  release(): void {
    this.running--;
    this.waiters.shift()?.();
    if (this.running === 0) for (const r of this.idle.splice(0)) r();
  }
  /** Resolves when nothing runs, or after timeoutMs. */
  async drained(timeoutMs: number): Promise<boolean> {
    if (this.running === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const done = await Promise.race([
      new Promise<boolean>((r) => this.idle.push(() => r(true))),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    return done;
  }
}
