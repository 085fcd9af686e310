/**
 * Group commit for SendMessage. Sends to one conversation are serialised by
 * its row (seq), so under load they queue on the lock, one write (and its
 * round trips) at a time: a busy group is capped near 1 / (lock hold time).
 * Here the sends of a conversation that arrive while its previous write is in
 * flight wait in this process and go out together as ONE conditional
 * statement (`insertMessagesIfUnchanged`), so a conversation's throughput
 * grows with its load instead of queueing behind it.
 *
 * The write is conditional on the conversation row's version, like a single
 * send's (send.ts): after a batch commits, the statement returns the row's
 * new version, so the next batch needs no read. A batch whose condition fails
 * (another process wrote, a membership change, a lock held) writes nothing,
 * and each of its sends is written the locking way instead. Correctness rests
 * on that condition only; the cached head is a guess that is usually right.
 */
import type { Database, OutboxEvent, OutboxFastPath } from "@parley/platform";
import { Histogram, type Registry } from "prom-client";
import { messageEvent } from "../events/publish.js";
import { chatEvents } from "../events/subjects.js";
import { insertMessagesIfUnchanged, lockConversationHead, sentMessageRow, type ConversationHead, type KnownMembers, type SentMessage, type UnsequencedMessage } from "../store/messages.js";
import type { MessageRow } from "../store/schema.js";

/** A statement carries at most this many messages (about 7 parameters each). */
const MAX_BATCH = 200;

/** A validated send waiting for its conversation's next write. */
export interface QueuedSend {
  message: UnsequencedMessage;
  /** What this send's own read saw: the conversation's head at that moment. */
  seen: ConversationHead;
  /** Written: the row. Undefined: not written here, the caller writes it the locking way. */
  settle(row: MessageRow | undefined): void;
  fail(error: unknown): void;
}

/** A batch written (or about to commit): what follows the commit, or its failure. */
interface WrittenBatch {
  settle(): void;
  abort(): void;
}

interface ConversationQueue {
  waiting: QueuedSend[];
  writing: boolean;
  /** The head after this process's last committed batch, if nothing failed since. */
  head: ConversationHead | undefined;
}

/** Messages per write statement, by how it was written; its count is the number of writes. */
function sendBatchHistogram(metrics: Registry): Histogram<"path"> {
  const name = "chat_send_batch_messages";
  // One registry may hold two chat modules in tests of several instances; share the metric.
  const existing = metrics.getSingleMetric(name);
  if (existing instanceof Histogram) return existing as Histogram<"path">;
  return new Histogram({
    name,
    help: "Messages written per SendMessage write statement (group commit), by path: conditional (one round trip) or locked (after the row moved on)",
    labelNames: ["path"],
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 200],
    registers: [metrics],
  });
}

/** Conversations whose last known members are kept for `knownMembers` (an LRU: the oldest is dropped). */
const KNOWN_MEMBERS_CAPACITY = 10_000;

export interface SendBatches {
  /** The members of the newest version of the conversation's row this process wrote or read, if it has them. */
  knownMembers(conversationId: string): KnownMembers | undefined;
  /** Resolves with the written row, or undefined when the caller must write it the locking way. */
  write(conversationId: string, message: QueuedSend["message"], seen: ConversationHead): Promise<MessageRow | undefined>;
}

export function createSendBatches(sharedDb: Database, events: OutboxFastPath, metrics: Registry): SendBatches {
  const batchSize = sendBatchHistogram(metrics);
  const queues = new Map<string, ConversationQueue>();
  const known = new Map<string, KnownMembers>();
  const remember = (conversationId: string, head: ConversationHead): void => {
    known.delete(conversationId);
    known.set(conversationId, { version: head.version, memberIds: head.memberIds });
    if (known.size > KNOWN_MEMBERS_CAPACITY) known.delete(known.keys().next().value!);
  };

  /**
   * One attempt: the write conditional on `head`. Returns undefined, having
   * written nothing, when the row is no longer `head`; else what to do once
   * the write is committed (`settle`: answer the sends, publish the events)
   * or if it is not after all (`abort`).
   */
  async function tryWrite(db: Database, conversationId: string, queue: ConversationQueue, head: ConversationHead, batch: QueuedSend[]): Promise<WrittenBatch | undefined> {
    // A sender the head does not list as a member left after its own check: the locking way re-checks it under the lock.
    const members = new Set(head.memberIds);
    const writable = batch.filter((send) => members.has(send.message.senderId));
    // Never before the conversation's last activity, so created_at follows seq.
    const createdAt = new Date(Math.max(Date.now(), head.lastActivityAt.getTime()));
    const rows = writable.map((send, i) => {
      const message = { ...send.message, seq: head.lastSeq + BigInt(i + 1), createdAt } satisfies SentMessage;
      const event: OutboxEvent = messageEvent(chatEvents.messageCreated, { ...message, editedAt: null, deleted: false }, head.memberIds);
      return { message, event };
    });
    // Taken before the write: a send committing after this batch can only read (or lock) after it.
    const slot = events.slot(conversationId);
    let written: Awaited<ReturnType<typeof insertMessagesIfUnchanged>>;
    try {
      written = rows.length === 0 ? { searches: [], version: head.version } : await insertMessagesIfUnchanged(db, head, rows);
    } catch (error) {
      slot.cancel();
      throw error;
    }
    if (written === undefined) {
      slot.cancel();
      return undefined;
    }
    const { searches, version } = written;
    return {
      settle() {
        batchSize.observe({ path: db === sharedDb ? "conditional" : "locked" }, rows.length);
        queue.head = { ...head, version, lastSeq: head.lastSeq + BigInt(rows.length), lastActivityAt: rows.length > 0 ? createdAt : head.lastActivityAt };
        remember(conversationId, queue.head);
        void slot.publish(rows.map((r) => r.event));
        rows.forEach((r, i) => writable[i]!.settle(sentMessageRow(r.message, searches[i]!)));
        for (const send of batch) if (!members.has(send.message.senderId)) send.settle(undefined);
      },
      abort: () => slot.cancel(),
    };
  }

  async function writeBatch(conversationId: string, queue: ConversationQueue, batch: QueuedSend[]): Promise<void> {
    // The newest head known: the last batch's, or the newest any of these sends read.
    let head = queue.head;
    for (const send of batch) if (head === undefined || send.seen.lastSeq > head.lastSeq) head = send.seen;
    if (head === undefined) throw new Error("send batch without a conversation head");
    try {
      const unlocked = await tryWrite(sharedDb, conversationId, queue, head, batch);
      if (unlocked) return unlocked.settle();
      // The row moved on (another process, a membership change) or is locked: wait for the lock,
      // read the head under it and write the same batch; five round trips for the whole batch.
      queue.head = undefined;
      let locked: WrittenBatch | undefined;
      try {
        await sharedDb.transaction(async (tx) => {
          const current = await lockConversationHead(tx, conversationId);
          if (current !== undefined) locked = await tryWrite(tx, conversationId, queue, current, batch);
        });
      } catch (error) {
        locked?.abort();
        throw error;
      }
      if (locked) locked.settle();
      else for (const send of batch) send.settle(undefined);
    } catch {
      queue.head = undefined;
      // A duplicate client id (or any error) fails the whole statement: each send, written alone, meets its own error.
      for (const send of batch) send.settle(undefined);
    }
  }

  async function drive(conversationId: string, queue: ConversationQueue): Promise<void> {
    queue.writing = true;
    try {
      while (queue.waiting.length > 0) {
        const batch = queue.waiting.splice(0, MAX_BATCH);
        try {
          await writeBatch(conversationId, queue, batch);
        } catch (error) {
          for (const send of batch) send.fail(error);
        }
      }
    } finally {
      queue.writing = false;
      // Nothing waiting and nothing writing: forget the conversation (its cached head goes too).
      if (queue.waiting.length === 0) queues.delete(conversationId);
    }
  }

  return {
    knownMembers: (conversationId) => known.get(conversationId),
    write(conversationId, message, seen) {
      let queue = queues.get(conversationId);
      if (!queue) queues.set(conversationId, (queue = { waiting: [], writing: false, head: undefined }));
      const q = queue;
      const written = new Promise<MessageRow | undefined>((resolve, reject) => {
        q.waiting.push({ message, seen, settle: resolve, fail: reject });
      });
      if (!q.writing) void drive(conversationId, q);
      return written;
    },
  };
}
