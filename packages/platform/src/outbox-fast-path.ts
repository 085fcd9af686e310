/**
 * The outbox's fast path: events published by the process that committed
 * them, right after the commit, instead of waiting for the relay's next batch
 * (NOTIFY, BEGIN, SELECT … FOR UPDATE, publish, DELETE, COMMIT on the latency
 * path of every event). The outbox row stays the crash and outage fallback:
 *
 * - a published event's row is deleted afterwards, the deletes of one tick
 *   batched into one statement; a row whose delete is lost is published again
 *   by the relay under the same id, which the broker's dedupe drops;
 * - events of one `orderKey` (a conversation) are published in the order of
 *   their slots (see `PublishSlot`), so they reach the bus in commit order
 *   within this process. The slots ready at once go out as one pipelined
 *   batch (one connection stores them in the order issued), and the key's
 *   next batch waits for its acks, so a busy conversation batches itself and
 *   an outage catches at most one batch in flight. Like the relay's batch: a
 *   broker refusing one event and taking the next puts the next first;
 * - the relay leaves rows younger than its grace period to the fast path
 *   (see `startOutboxRelay`'s `fastPath`), so the two do not race on every
 *   event. When they do race (a slow transaction, a lost delete), each
 *   publishes a key's events in order and deletes only after publishing, so
 *   an event's first copy still reaches the bus before its successor's;
 * - a failed publish closes the fast path for every key: that event and the
 *   batches behind it stay queued for the relay, which takes rows of any age
 *   while the fast path is closed and reopens it once the outbox is empty, so
 *   nothing published later overtakes them.
 */
import { inArray } from "drizzle-orm";
import type { Logger } from "pino";
import type { OutboxEvent, OutboxTable } from "./outbox.js";
import type { Database, EventBus } from "./types.js";

/**
 * A place in an `orderKey`'s publishing order, taken before the commit
 * (under the lock that orders the commits, or before a write that fails if
 * another commits first), so events go out in commit order even when the
 * commits' answers reach this process in another order. Exactly one of
 * `publish` and `cancel` must be called; until then the key's later events wait.
 */
export interface PublishSlot {
  /** The transaction committed: publish its events in this slot's turn. Never rejects. */
  publish(events: readonly OutboxEvent[]): Promise<void>;
  /** Nothing committed (rolled back, or written another way): later events go on. */
  cancel(): void;
}

export interface OutboxFastPath {
  /**
   * Publishes events whose transaction has committed, after the ones handed
   * over before with the same `orderKey`. Never rejects: a failure leaves the
   * events to the relay. The promise settles once they are published (or
   * left to the relay); callers need not wait for it. For events whose order
   * against concurrent commits matters, take a `slot` before the commit.
   */
  publishCommitted(events: readonly OutboxEvent[], orderKey: string): Promise<void>;
  /** Takes the next place in `orderKey`'s order (see `PublishSlot`). */
  slot(orderKey: string): PublishSlot;
  /** False after a failed publish, until the relay has emptied the outbox. */
  readonly open: boolean;
  /** Counts hand-overs left to the relay; the relay reads it before a batch to pass to `reopen`. */
  readonly leftToRelay: number;
  /**
   * For the relay: a batch that started when `leftToRelay` was `mark` found
   * the outbox empty. Reopens only if nothing was left to the relay since
   * (such an event committed before it was handed over, maybe after the
   * batch's snapshot, and must go out before anything newer).
   */
  reopen(mark: number): void;
  /** Waits for the publishes and deletes in progress (at shutdown, before the relay stops). */
  drain(): Promise<void>;
}

interface QueuedSlot {
  /** Undefined until the slot is published or cancelled (then empty). */
  events: readonly OutboxEvent[] | undefined;
  settle(): void;
}

export interface OutboxFastPathOptions {
  db: Database;
  bus: EventBus;
  outbox: OutboxTable;
  schemaName: string;
  logger: Logger;
}

export function createOutboxFastPath(opts: OutboxFastPathOptions): OutboxFastPath {
  const { db, bus, outbox } = opts;
  const logger = opts.logger.child({ component: "outbox-fast-path", schema: opts.schemaName });
  /** Per key, its slots in the order taken; the head is published first. */
  const queues = new Map<string, QueuedSlot[]>();
  /** Per key, the worker publishing its ready slots (one at a time). */
  const workers = new Map<string, Promise<void>>();
  let open = true;
  let leftToRelay = 0;
  let toDelete: string[] = [];
  let flushing: Promise<void> | undefined;

  async function deletePublished(): Promise<void> {
    // Let the publishes settling in this tick join the batch.
    await new Promise<void>((resolve) => setImmediate(resolve));
    const ids = toDelete;
    toDelete = [];
    try {
      await db.delete(outbox).where(inArray(outbox.id, ids));
    } catch (err) {
      // The relay publishes them again after its grace period; the broker drops the duplicates.
      logger.warn({ err, events: ids.length }, "deleting published outbox rows failed; the relay will take them");
    }
  }

  function flush(): void {
    flushing = deletePublished().finally(() => {
      flushing = undefined;
      if (toDelete.length > 0) flush();
    });
  }

  function scheduleDelete(id: string): void {
    toDelete.push(id);
    if (flushing === undefined) flush();
  }

  /**
   * Publishes one batch pipelined, in order (one connection stores them in
   * the order issued), and waits for every ack before the key's next batch:
   * when the broker goes away, at most this batch is in flight, so events
   * behind a lost publish are not stored ahead of it.
   */
  async function publishBatch(events: readonly OutboxEvent[]): Promise<void> {
    if (!open) {
      leftToRelay++;
      return;
    }
    await Promise.all(
      events.map((event) =>
        bus.publish(event.subject, event.payload, event.id).then(
          () => scheduleDelete(event.id),
          (err: unknown) => {
            leftToRelay++;
            if (!open) return;
            open = false;
            logger.warn({ err, eventId: event.id, subject: event.subject }, "fast publish failed; the relay takes over until the outbox is empty");
          },
        ),
      ),
    );
  }

  /** Publishes the key's slots that are ready, in slot order, a batch at a time (a busy conversation batches itself). */
  async function work(orderKey: string): Promise<void> {
    const queue = queues.get(orderKey);
    if (queue === undefined) return;
    while (queue[0]?.events !== undefined) {
      const ready: QueuedSlot[] = [];
      while (queue[0]?.events !== undefined) ready.push(queue.shift()!);
      const events = ready.flatMap((entry) => entry.events ?? []);
      if (events.length > 0) await publishBatch(events);
      for (const entry of ready) entry.settle();
    }
    if (queue.length === 0) queues.delete(orderKey);
  }

  function kick(orderKey: string): void {
    if (workers.has(orderKey)) return;
    const worker = work(orderKey).finally(() => {
      workers.delete(orderKey);
      // Filled while this worker was finishing.
      if (queues.get(orderKey)?.[0]?.events !== undefined) kick(orderKey);
    });
    workers.set(orderKey, worker);
  }

  function slot(orderKey: string): PublishSlot {
    let settle: () => void = () => undefined;
    const published = new Promise<void>((resolve) => {
      settle = resolve;
    });
    const entry: QueuedSlot = { events: undefined, settle: () => settle() };
    const queue = queues.get(orderKey);
    if (queue === undefined) queues.set(orderKey, [entry]);
    else queue.push(entry);
    return {
      publish(events) {
        entry.events = events;
        kick(orderKey);
        return published;
      },
      cancel() {
        entry.events = [];
        kick(orderKey);
      },
    };
  }

  return {
    publishCommitted(events, orderKey) {
      return slot(orderKey).publish(events);
    },
    slot,
    get open() {
      return open;
    },
    get leftToRelay() {
      return leftToRelay;
    },
    reopen(mark) {
      if (open || mark !== leftToRelay) return;
      open = true;
      logger.info("outbox empty; fast publishing resumes");
    },
    async drain() {
      while (workers.size > 0 || flushing !== undefined) {
        await Promise.all([...workers.values(), flushing]);
      }
    },
  };
}

/** What a transaction run by `transactionPublishing` hands its outbox rows to. */
export interface CommitPublisher {
  /** Takes `orderKey`'s next slot now (call it under the lock that orders the commits); published after the commit. */
  add(orderKey: string, events: readonly OutboxEvent[]): void;
}

/**
 * Runs `work` in a transaction; the events it added are published by the
 * fast path once the transaction committed, or their slots released if it
 * did not.
 */
export async function transactionPublishing<T>(
  db: Database,
  fastPath: OutboxFastPath,
  work: (tx: Database, publisher: CommitPublisher) => Promise<T>,
): Promise<T> {
  const pending: { slot: PublishSlot; events: readonly OutboxEvent[] }[] = [];
  let committed = false;
  try {
    const result = await db.transaction((tx) =>
      work(tx, { add: (orderKey, events) => void pending.push({ slot: fastPath.slot(orderKey), events }) }),
    );
    committed = true;
    return result;
  } finally {
    for (const { slot, events } of pending) {
      if (committed) void slot.publish(events);
      else slot.cancel();
    }
  }
}
