/**
 * JetStream dead-letter queue: a stream of its own (`PARLEY_DLQ[_<ns>]`,
 * subjects `parley.dlq.<consumer>`, kept 30 days), one message per dead
 * event with its payload and, in headers, where it came from and why it
 * died. Replay publishes it again on its original subject with
 * `Parley-Replay-For` (only that consumer handles it) and
 * `Parley-Event-Id` (its original id, so inbox dedupe still holds).
 */
import { RetentionPolicy, StorageType, headers, nanos, type JetStreamClient, type JetStreamManager, type MsgHdrs } from "nats";
import type { DeadLetter, DeadLetterQueue } from "../types.js";
import { ensureStream } from "./jetstream-streams.js";
import { DEAD_LETTER_STREAM, DLQ_HEADERS, deadLetterSubject } from "./subjects.js";

/** Bounds the stream whatever happens (a consumer failing every event for days). */
const MAX_DEAD_LETTERS = 100_000;

export interface JetStreamDeadLetters extends DeadLetterQueue {
  /** Stores a dead letter; resolves once the broker has it (only then may the event be terminated). */
  put(letter: Omit<DeadLetter, "seq" | "deadAtMs">): Promise<number>;
}

export async function createJetStreamDeadLetters(opts: {
  jsm: JetStreamManager;
  js: JetStreamClient;
  /** Namespaced stream name / subject, as the bus wires them. */
  stream: string;
  wire: (subject: string) => string;
  /** Stream replicas, as for the event streams: dead letters must survive a server loss too. */
  replicas: number;
}): Promise<JetStreamDeadLetters> {
  const { jsm, js, stream, wire, replicas } = opts;
  const config = {
    name: stream,
    subjects: DEAD_LETTER_STREAM.subjects.map(wire),
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    max_age: nanos(DEAD_LETTER_STREAM.maxAgeMs),
    max_msgs: MAX_DEAD_LETTERS,
    num_replicas: replicas,
  };
  await ensureStream(jsm, config);
  const perConsumer = new Map<string, number>();

  function decode(m: { seq: number; header: MsgHdrs | undefined; data: Uint8Array; timeMs: number }): DeadLetter {
    const h = (k: string): string => m.header?.get(k) ?? "";
    return {
      seq: m.seq,
      consumer: h(DLQ_HEADERS.consumer),
      eventId: h(DLQ_HEADERS.eventId),
      subject: h(DLQ_HEADERS.subject),
      data: m.data,
      error: h(DLQ_HEADERS.error),
      deliveries: Number(h(DLQ_HEADERS.deliveries)) || 0,
      deadAtMs: m.timeMs,
    };
  }

  async function get(seq: number): Promise<DeadLetter> {
    try {
      const m = await jsm.streams.getMessage(stream, { seq });
      return decode({ seq: m.seq, header: m.header, data: m.data, timeMs: m.time.getTime() });
    } catch (err) {
      throw new Error(`dead letter ${seq} not found in ${stream}`, { cause: err });
    }
  }

  return {
    async put(letter) {
      const h = headers();
      h.set(DLQ_HEADERS.consumer, letter.consumer);
      h.set(DLQ_HEADERS.eventId, letter.eventId);
      h.set(DLQ_HEADERS.subject, letter.subject);
      h.set(DLQ_HEADERS.error, letter.error);
      h.set(DLQ_HEADERS.deliveries, String(letter.deliveries));
      // Same consumer + event twice (a put whose ack was lost) is one dead letter.
      const ack = await js.publish(wire(deadLetterSubject(letter.consumer)), letter.data, { msgID: `dlq~${letter.consumer}~${letter.eventId}`, headers: h });
      perConsumer.set(letter.consumer, (perConsumer.get(letter.consumer) ?? 0) + 1);
      return ack.seq;
    },

    async list(o = {}) {
      const limit = o.limit ?? 100;
      const filter = wire(o.consumer === undefined ? "parley.dlq.>" : deadLetterSubject(o.consumer));
      const waiting = (await jsm.streams.info(stream, { subjects_filter: filter })).state.messages;
      if (waiting === 0) return [];
      // An ordered consumer reads the stream in order without creating anything durable.
      const reader = await js.consumers.get(stream, { filterSubjects: filter });
      const found: DeadLetter[] = [];
      const batch = await reader.fetch({ max_messages: Math.min(limit, waiting), expires: 2_000 });
      for await (const m of batch) {
        const letter = decode({ seq: m.seq, header: m.headers, data: m.data, timeMs: m.info.timestampNanos / 1e6 });
        if (o.consumer === undefined || letter.consumer === o.consumer) found.push(letter);
      }
      return found;
    },

    async replay(seq) {
      const letter = await get(seq);
      const h = headers();
      h.set(DLQ_HEADERS.replayFor, letter.consumer);
      h.set(DLQ_HEADERS.eventId, letter.eventId);
      // A fresh msgId: the original is still in the dedupe window if the event died quickly.
      await js.publish(wire(letter.subject), letter.data, { msgID: `${letter.eventId}~replay~${seq}`, headers: h });
      await jsm.streams.deleteMessage(stream, seq, false);
      return letter;
    },

    async drop(seq) {
      await get(seq);
      await jsm.streams.deleteMessage(stream, seq, false);
    },

    counts() {
      return perConsumer;
    },
  };
}
