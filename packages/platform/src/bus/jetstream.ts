/**
 * EventBus over NATS JetStream. Streams are created idempotently on connect;
 * `consume` is a durable pull consumer shared by every replica (the server
 * load-balances), `consumeOwn` a per-process consumer that resumes from its
 * last acked position if the server lost it. Each consumer runs the v2
 * `consumer.consume()` iterator and is re-created whenever that iterator
 * ends with an error (e.g. after a server restart).
 */
import {
  AckPolicy,
  DeliverPolicy,
  ErrorCode,
  NatsError,
  RetentionPolicy,
  StorageType,
  connect,
  nanos,
  type ConsumerConfig,
  type ConsumerMessages,
  type JetStreamManager,
  type JsMsg,
  type NatsConnection,
  type StreamConfig,
} from "nats";
import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import type { BusHandler, ConsumeOptions, EventBus, Subscription } from "../types.js";
import { BrokerUnavailableError, UnpublishableEventError } from "./errors.js";

/** Publish failures that mean "no answer from the broker", not "the broker refused this event". */
const OUTAGE_CODES = new Set<string>([
  ErrorCode.Timeout,
  ErrorCode.Disconnect,
  ErrorCode.ConnectionClosed,
  ErrorCode.ConnectionDraining,
  ErrorCode.ConnectionRefused,
  ErrorCode.ConnectionTimeout,
  ErrorCode.NoResponders,
  ErrorCode.JetStream408RequestTimeout,
]);
import { createJetStreamDeadLetters, type JetStreamDeadLetters } from "./jetstream-dead-letters.js";
import { ensureStream } from "./jetstream-streams.js";
import { natsConnectionOptions, type NatsSecurityOptions } from "./nats-options.js";
import {
  DEAD_LETTER_STREAM,
  DEFAULT_ACK_WAIT_MS,
  DLQ_HEADERS,
  DEFAULT_MAX_DELIVER,
  DUPLICATE_WINDOW_MS,
  InFlight,
  STOP_GRACE_MS,
  STREAMS,
  deadLetterError,
  nakDelayMs,
  refuseUnpublishable,
  sleep,
  streamForFilters,
  streamForSubject,
  type StreamSpec,
} from "./subjects.js";

/** JetStream API error codes (nats-server `errors.json`). */
const CONSUMER_NOT_FOUND = 10014;
const OWN_INACTIVE_THRESHOLD_MS = 60_000;

interface RunOptions {
  handler: BusHandler;
  maxDeliver: number;
  /** Durable (or own) name without namespace: dead letters and replays are addressed by it. */
  consumer: string;
  /** Durables dead-letter after maxDeliver; own consumers (a node's deliveries) terminate and log. */
  deadLetter: boolean;
}

export interface JetStreamBusOptions {
  natsUrl: string;
  /** Credential files and TLS beyond what the URL carries. */
  security?: NatsSecurityOptions | undefined;
  /** Isolates test runs on one server: stream suffix, subject and consumer prefix. */
  namespace?: string;
  /** Replicas of every stream it creates or updates (default 1); 3 on a 3-node JetStream cluster. */
  streamReplicas?: number | undefined;
  logger: Logger;
  /** Ack wait of consumers that name none; default DEFAULT_ACK_WAIT_MS. */
  ackWaitMs?: number;
}

function apiErrorCode(err: unknown): number | undefined {
  return err instanceof NatsError ? err.api_error?.err_code : undefined;
}

/** nats-server ≥ 2.10 accepts several filters on one consumer (keeps order across them). */
function supportsMultiFilter(nc: NatsConnection): boolean {
  const [major = 0, minor = 0] = (nc.info?.version ?? "0.0").split(".").map(Number);
  return major > 2 || (major === 2 && minor >= 10);
}

/** A short stable token for a subject, used in per-subject consumer names. */
function subjectToken(subject: string): string {
  return subject.replace(/\*/g, "star").replace(/>/g, "all").replace(/[^A-Za-z0-9_-]/g, "_");
}

export async function createJetStreamBus(opts: JetStreamBusOptions): Promise<EventBus> {
  const ns = opts.namespace ? opts.namespace.replace(/[^A-Za-z0-9_-]/g, "_") : "";
  const logger = opts.logger.child({ component: "bus", kind: "jetstream", ...(ns ? { namespace: ns } : {}) });
  const wire = (subject: string): string => (ns ? `${ns}.${subject}` : subject);
  const unwire = (subject: string): string => (ns && subject.startsWith(`${ns}.`) ? subject.slice(ns.length + 1) : subject);
  const streamName = (spec: StreamSpec): string => (ns ? `${spec.name}_${ns}` : spec.name);
  const defaultAckWaitMs = opts.ackWaitMs ?? DEFAULT_ACK_WAIT_MS;
  const consumerName = (name: string): string => (ns ? `${ns}_${name}` : name).replace(/[^A-Za-z0-9_-]/g, "_");

  // Credentials leave the URL for the connect options; only the redacted form is ever printed.
  const { options: connection, display: natsDisplay } = natsConnectionOptions(opts.natsUrl, opts.security);
  let nc: NatsConnection;
  try {
    // Reconnect forever: a NATS restart must not take the services down with it.
    nc = await connect({ ...connection, maxReconnectAttempts: -1, reconnectTimeWait: 500, name: "parley" });
  } catch (err) {
    throw new Error(`bus: cannot connect to NATS at ${natsDisplay}`, { cause: err });
  }
  void (async () => {
    for await (const s of nc.status()) logger.info({ status: s.type, data: String(s.data) }, "nats connection status");
  })();
  const jsm = await nc.jetstreamManager();
  const js = nc.jetstream();
  const replicas = opts.streamReplicas ?? 1;
  let deadLetters: JetStreamDeadLetters;
  try {
    await ensureStreams(jsm, streamName, wire, replicas);
    deadLetters = await createJetStreamDeadLetters({ jsm, js, stream: streamName(DEAD_LETTER_STREAM), wire, replicas });
  } catch (err) {
    // Streams the broker refuses (e.g. more replicas than servers): nobody gets this bus, so
    // nobody would close the connection, and it would reconnect forever.
    await nc.close().catch(() => undefined);
    throw err;
  }
  const multiFilter = supportsMultiFilter(nc);
  const subscriptions = new Set<Subscription>();

  interface ConsumerPlan {
    readonly stream: string;
    readonly name: string;
    /** Config to create it with; `resumeAfter` = last stream sequence known acked. */
    config(resumeAfter: number | undefined): Partial<ConsumerConfig>;
    /** Durables are updated to the current config; own consumers are only re-created. */
    readonly shared: boolean;
  }

  /** One pull consumer per filter when the server cannot take several filters. */
  function plans(base: string, subjects: string[], make: (name: string, filters: string[]) => ConsumerPlan): ConsumerPlan[] {
    if (subjects.length === 1 || multiFilter) return [make(base, subjects)];
    return subjects.map((s) => make(`${base}_${subjectToken(s)}`, [s]));
  }

  function filterConfig(filters: string[]): Partial<ConsumerConfig> {
    const wired = filters.map(wire);
    return wired.length === 1 ? { filter_subject: wired[0] } : { filter_subjects: wired };
  }

  async function ensureConsumer(plan: ConsumerPlan, resumeAfter: number | undefined): Promise<void> {
    try {
      const info = await jsm.consumers.info(plan.stream, plan.name);
      if (plan.shared) {
        const want = plan.config(undefined);
        // Filters too: a durable whose subjects moved to another stream (typing/presence) must stop asking
        // for them, and one that starts consuming one more subject (chat's graph slices) must get it.
        const had = info.config.filter_subjects ?? (info.config.filter_subject ? [info.config.filter_subject] : []);
        const wants = want.filter_subjects ?? (want.filter_subject ? [want.filter_subject] : []);
        const filtersChanged = had.length !== wants.length || had.some((f) => !wants.includes(f));
        if (info.config.ack_wait !== want.ack_wait || info.config.max_deliver !== want.max_deliver || filtersChanged) {
          const base = { ack_wait: want.ack_wait, max_deliver: want.max_deliver };
          const withFilters = wants.length === 1 ? { ...base, filter_subject: wants[0] } : { ...base, filter_subjects: wants };
          try {
            await jsm.consumers.update(plan.stream, plan.name, filtersChanged ? withFilters : base);
          } catch (err) {
            if (!filtersChanged) throw err;
            // An older server may refuse to change filters; keep consuming what the durable has.
            logger.warn({ err, consumer: plan.name }, "cannot change the durable's subject filters; delete the consumer to pick up new subjects");
            await jsm.consumers.update(plan.stream, plan.name, base);
          }
        }
      }
      return;
    } catch (err) {
      if (apiErrorCode(err) !== CONSUMER_NOT_FOUND) throw err;
    }
    // Replicas starting together may race here; adding an identical config is idempotent server-side.
    await jsm.consumers.add(plan.stream, plan.config(resumeAfter));
  }

  function runConsumer(
    plan: ConsumerPlan,
    o: RunOptions,
    slots: InFlight,
    abort: AbortSignal,
  ): { done: Promise<void>; stopIterator(): void } {
    let current: ConsumerMessages | undefined;
    let resumeAfter: number | undefined;
    const log = logger.child({ consumer: plan.name, stream: plan.stream });

    /** Terminated only once the dead letter is stored; if that fails the event stays and is redelivered. */
    async function deadLetter(m: JsMsg, id: string, err: unknown): Promise<void> {
      const fields = { err, subject: unwire(m.subject), eventId: id, deliveries: m.info.deliveryCount };
      try {
        const seq = await deadLetters.put({
          consumer: o.consumer,
          eventId: id,
          subject: unwire(m.subject),
          data: m.data,
          error: deadLetterError(err),
          deliveries: m.info.deliveryCount,
        });
        m.term(`dead-lettered after ${m.info.deliveryCount} deliveries`);
        log.error({ ...fields, deadLetterSeq: seq }, "event failed maxDeliver times; dead-lettered");
      } catch (dlqErr) {
        log.error({ ...fields, dlqErr }, "event failed maxDeliver times and could not be dead-lettered; will redeliver");
        m.nak(nakDelayMs(m.info.deliveryCount));
      }
    }

    async function handle(m: JsMsg): Promise<void> {
      const deliveryCount = m.info.deliveryCount;
      const replayFor = m.headers?.get(DLQ_HEADERS.replayFor);
      // A replayed dead letter is for one consumer; the others handled (or dead-lettered) it already.
      if (replayFor && replayFor !== o.consumer) return m.ack();
      const id = m.headers?.get(DLQ_HEADERS.eventId) || m.headers?.get("Nats-Msg-Id") || `${m.info.stream}:${m.seq}`;
      // Durables run with the server's max_deliver unlimited (see consume), so ack-wait expiries end here too.
      if (o.deadLetter && deliveryCount > o.maxDeliver) {
        return deadLetter(m, id, new Error(`not acked within ack wait in ${deliveryCount - 1} deliveries`));
      }
      try {
        await o.handler({ id, subject: unwire(m.subject), data: m.data, deliveryCount });
        m.ack();
      } catch (err) {
        const fields = { err, subject: unwire(m.subject), eventId: id, deliveries: deliveryCount };
        if (deliveryCount >= o.maxDeliver && o.deadLetter) {
          await deadLetter(m, id, err);
        } else if (deliveryCount >= o.maxDeliver) {
          log.error(fields, "event failed maxDeliver times; terminated");
          m.term(`handler failed ${deliveryCount} times`);
        } else {
          const delayMs = nakDelayMs(deliveryCount);
          log.warn({ ...fields, retryInMs: delayMs }, "event handler failed; will redeliver");
          m.nak(delayMs);
        }
      }
    }

    async function loop(): Promise<void> {
      let failures = 0;
      while (!abort.aborted) {
        try {
          await ensureConsumer(plan, resumeAfter);
          const consumer = await js.consumers.get(plan.stream, plan.name);
          // Remember how far this consumer got, so a consumer the server lost can be re-created there.
          resumeAfter = Math.max(resumeAfter ?? 0, (await consumer.info(true)).ack_floor.stream_seq);
          // abort_on_missing_resource: end the iterator (and re-create) instead of retrying a deleted consumer forever.
          current = await consumer.consume({ max_messages: Math.max(slots.limitHint, 1), abort_on_missing_resource: true });
          if (abort.aborted) current.stop();
          failures = 0;
          for await (const m of current) {
            await slots.acquire();
            if (abort.aborted) {
              slots.release();
              m.nak();
              continue;
            }
            void handle(m).finally(() => slots.release());
          }
          const err = await current.closed();
          if (abort.aborted) break;
          log.warn({ err }, "consumer iterator ended; re-creating");
        } catch (err) {
          if (abort.aborted) break;
          log.warn({ err }, "consumer failed; retrying");
        }
        failures++;
        await sleep(Math.min(250 * 2 ** failures, 5_000), abort);
      }
    }

    return { done: loop(), stopIterator: () => current?.stop() };
  }

  function start(planList: ConsumerPlan[], o: ConsumeOptions | (Omit<ConsumeOptions, "durable"> & { name: string }), onStopped?: () => Promise<void>): Subscription {
    const slots = new InFlight(o.concurrency ?? 1);
    const abort = new AbortController();
    const durable = "durable" in o;
    const run: RunOptions = { handler: o.handler, maxDeliver: o.maxDeliver ?? DEFAULT_MAX_DELIVER, consumer: durable ? o.durable : o.name, deadLetter: durable };
    const runners = planList.map((p) => runConsumer(p, run, slots, abort.signal));
    let stopping: Promise<void> | undefined;
    const sub: Subscription = {
      stop() {
        stopping ??= (async () => {
          abort.abort();
          for (const r of runners) r.stopIterator();
          // A hung handler must not hang shutdown: its event is redelivered after ack_wait.
          await Promise.race([Promise.all(runners.map((r) => r.done)), sleep(STOP_GRACE_MS)]);
          await slots.drained(STOP_GRACE_MS);
          subscriptions.delete(sub);
          await onStopped?.();
        })();
        return stopping;
      },
    };
    subscriptions.add(sub);
    return sub;
  }

  return {
    async publish(subject, data, msgId) {
      refuseUnpublishable(subject, data, nc.info?.max_payload);
      try {
        await js.publish(wire(subject), data, { msgID: msgId });
      } catch (err) {
        const code = err instanceof NatsError ? err.code : undefined;
        const Failure =
          code === ErrorCode.MaxPayloadExceeded ? UnpublishableEventError : code !== undefined && OUTAGE_CODES.has(code) ? BrokerUnavailableError : Error;
        throw new Failure(`bus: publish of ${subject} (msgId ${msgId}) failed`, { cause: err });
      }
    },

    async consume(o) {
      const stream = streamName(streamForFilters(o.subjects, o.durable));
      const base = consumerName(o.durable);
      const ackWait = nanos(o.ackWaitMs ?? defaultAckWaitMs);
      // Unlimited on the server: the client dead-letters at maxDeliver, and an event the server
      // stopped delivering on its own (max_deliver reached by ack-wait expiries) would be lost silently.
      const maxDeliver = -1;
      const planList = plans(base, o.subjects, (name, filters) => ({
        stream,
        name,
        shared: true,
        config: () => ({
          durable_name: name,
          ack_policy: AckPolicy.Explicit,
          // Events published before the service first started are still its to process.
          deliver_policy: DeliverPolicy.All,
          ack_wait: ackWait,
          max_deliver: maxDeliver,
          ...filterConfig(filters),
        }),
      }));
      return start(planList, o);
    },

    async consumeOwn(o) {
      const stream = streamName(streamForFilters(o.subjects, o.name));
      // Random suffix: never shared with another process, even one reusing the node id.
      const base = consumerName(`${o.name}_${randomBytes(4).toString("hex")}`);
      const planList = plans(base, o.subjects, (name, filters) => ({
        stream,
        name,
        shared: false,
        config: (resumeAfter) => ({
          durable_name: name,
          ack_policy: AckPolicy.Explicit,
          ...(resumeAfter === undefined
            ? { deliver_policy: DeliverPolicy.New }
            : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: resumeAfter + 1 }),
          ack_wait: nanos(o.ackWaitMs ?? defaultAckWaitMs),
          max_deliver: o.maxDeliver ?? DEFAULT_MAX_DELIVER,
          // The server deletes it once this process is gone for a minute.
          inactive_threshold: nanos(OWN_INACTIVE_THRESHOLD_MS),
          ...filterConfig(filters),
        }),
      }));
      // Create before resolving: "everything published after it started" starts now.
      for (const p of planList) await ensureConsumer(p, undefined);
      return start(planList, o, async () => {
        await Promise.all(planList.map((p) => jsm.consumers.delete(p.stream, p.name).catch(() => false)));
      });
    },

    deadLetters,

    async ping() {
      await Promise.race([
        jsm.getAccountInfo(),
        sleep(2_000).then(() => {
          throw new Error(`bus: NATS at ${natsDisplay} did not answer within 2 s`);
        }),
      ]);
    },

    async close() {
      await Promise.all([...subscriptions].map((s) => s.stop()));
      if (!nc.isClosed()) await nc.drain().catch((err: unknown) => logger.warn({ err }, "nats drain failed"));
    },
  };
}

/** Creates or updates both streams; safe to run from every process at once. */
async function ensureStreams(jsm: JetStreamManager, streamName: (s: StreamSpec) => string, wire: (s: string) => string, replicas: number): Promise<void> {
  for (const spec of STREAMS) {
    const config: Partial<StreamConfig> & { name: string } = {
      name: streamName(spec),
      subjects: spec.subjects.map(wire),
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      max_age: nanos(spec.maxAgeMs),
      duplicate_window: nanos(Math.min(DUPLICATE_WINDOW_MS, spec.maxAgeMs)),
      num_replicas: replicas,
    };
    await ensureStream(jsm, config);
  }
}

