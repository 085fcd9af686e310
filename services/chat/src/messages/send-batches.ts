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
 *
 * Across conversations too: the batches of every conversation ready at once
 * go out as ONE statement (`insertMessageGroupsIfUnchanged`), at most
 * MAX_STATEMENTS_IN_FLIGHT at a time, so many quiet 1-1 conversations cost one
 * round trip, one commit and one socket write for all their sends instead of
 * one each. Each conversation is still taken or left on its own condition.
 * On this machine a socket write costs more than the statement's execution,
 * so round trips are what a send's CPU is made of (bench/RESULTS.md).
 */
import type { Database, OutboxEvent, OutboxFastPath, PublishSlot } from "@parley/platform";
import type { Registry } from "prom-client";
import { sentMessageEvent } from "../events/publish.js";
import { batchHistogram } from "./batch-metrics.js";
import {
  insertMessageGroupsIfUnchanged,
  insertMessagesIfUnchanged,
  lockConversationHead,
  sentMessageRow,
  type ConversationHead,
  type KnownMembers,
  type SentMessage,
  type UnsequencedMessage,
} from "../store/messages.js";
import type { MessageRow } from "../store/schema.js";

/** A statement carries at most this many messages (about 11 parameters each), of any conversations. */
const MAX_BATCH = 200;

/** Statements writing sends at once: the next batch forms while these are in flight. */
const MAX_STATEMENTS_IN_FLIGHT = 2;

/** A validated send waiting for its conversation's next write. */
export interface QueuedSend {
  message: UnsequencedMessage;
  /** What this send's own read saw: the conversation's head at that moment. */
  seen: ConversationHead;
  /** Written: the row. Undefined: not written here, the caller writes it the locking way. */
  settle(row: MessageRow | undefined): void;
  fail(error: unknown): void;
}

/** A conversation's batch with its seqs and events assigned from `head`, its publish slot taken. */
interface PreparedBatch {
  conversationId: string;
  queue: ConversationQueue;
  head: ConversationHead;
  batch: QueuedSend[];
  /** The sends whose sender the head lists as a member, as rows and events. */
  rows: { message: SentMessage; event: OutboxEvent; published: OutboxEvent }[];
  createdAt: Date;
  slot: PublishSlot;
}

interface ConversationQueue {
  waiting: QueuedSend[];
  writing: boolean;
  /** The head after this process's last committed batch, if nothing failed since. */
  head: ConversationHead | undefined;
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
  // Messages per write statement and conversation, by path; conversations per conditional statement.
  const batchSize = batchHistogram(
    metrics,
    "chat_send_batch_messages",
    "Messages written per SendMessage write statement (group commit), by path: conditional (one round trip) or locked (after the row moved on)",
    ["path"],
  );
  const statementSize = batchHistogram(
    metrics,
    "chat_send_statement_conversations",
    "Conversations written per SendMessage write statement (group commit across conversations)",
  );
  const queues = new Map<string, ConversationQueue>();
  const known = new Map<string, KnownMembers>();
  const remember = (conversationId: string, head: ConversationHead): void => {
    known.delete(conversationId);
    known.set(conversationId, { version: head.version, memberIds: head.memberIds });
    if (known.size > KNOWN_MEMBERS_CAPACITY) known.delete(known.keys().next().value!);
  };

  /** Seqs, timestamp and events for `batch` from `head`, and its publish slot (cancel or publish it). */
  function prepare(conversationId: string, queue: ConversationQueue, head: ConversationHead, batch: QueuedSend[]): PreparedBatch {
    // A sender the head does not list as a member left after its own check: the locking way re-checks it under the lock.
    const members = new Set(head.memberIds);
    // Never before the conversation's last activity, so created_at follows seq.
    const createdAt = new Date(Math.max(Date.now(), head.lastActivityAt.getTime()));
    const rows = batch
      .filter((send) => members.has(send.message.senderId))
      .map((send, i) => {
        const message = { ...send.message, seq: head.lastSeq + BigInt(i + 1), createdAt } satisfies SentMessage;
        const { stored, published } = sentMessageEvent({ ...message, editedAt: null, deleted: false }, head.memberIds);
        return { message, event: stored, published };
      });
    // Taken before the write: a send committing after this batch can only read (or lock) after it.
    return { conversationId, queue, head, batch, rows, createdAt, slot: events.slot(conversationId) };
  }

  /** The batch committed as `written`: answer its sends, publish its events, remember the new head. */
  function settle(p: PreparedBatch, written: { searches: string[]; version: string }, path: "conditional" | "locked"): void {
    batchSize.observe({ path }, p.rows.length);
    const { head, rows } = p;
    p.queue.head = { ...head, version: written.version, lastSeq: head.lastSeq + BigInt(rows.length), lastActivityAt: rows.length > 0 ? p.createdAt : head.lastActivityAt };
    remember(p.conversationId, p.queue.head);
    void p.slot.publish(rows.map((r) => r.published));
    const byId = new Map(rows.map((r, i) => [r.message.id, sentMessageRow(r.message, written.searches[i]!)]));
    // Sends whose sender was not a member get undefined: the locking way answers them.
    for (const send of p.batch) send.settle(byId.get(send.message.id));
  }

  /**
   * The row moved on (another process, a membership change) or is locked: wait for the lock,
   * read the head under it and write the same batch; five round trips for the whole batch.
   */
  async function writeLocked(conversationId: string, queue: ConversationQueue, batch: QueuedSend[]): Promise<void> {
    queue.head = undefined;
    let locked: { p: PreparedBatch; written: { searches: string[]; version: string } } | undefined;
    let slot: PublishSlot | undefined;
    try {
      await sharedDb.transaction(async (tx) => {
        const current = await lockConversationHead(tx, conversationId);
        if (current === undefined) return;
        const p = prepare(conversationId, queue, current, batch);
        slot = p.slot;
        const written = p.rows.length === 0 ? { searches: [], version: current.version } : await insertMessagesIfUnchanged(tx, current, p.rows);
        if (written !== undefined) locked = { p, written };
      });
    } catch {
      slot?.cancel();
      queue.head = undefined;
      // A duplicate client id (or any error) fails the whole statement: each send, written alone, meets its own error.
      for (const send of batch) send.settle(undefined);
      return;
    }
    if (locked) return settle(locked.p, locked.written, "locked");
    slot?.cancel();
    for (const send of batch) send.settle(undefined);
  }

  /**
   * One statement for the batches of several conversations; resolves once it is done. A
   * conversation is released for its next batch as soon as its own part is settled; the ones
   * whose row moved on are written the locking way first, without holding up the next statement.
   */
  async function writeGroups(ready: { conversationId: string; queue: ConversationQueue; batch: QueuedSend[] }[]): Promise<void> {
    const prepared = ready.map(({ conversationId, queue, batch }) => {
      // The newest head known: the last batch's, or the newest any of these sends read.
      let head = queue.head;
      for (const send of batch) if (head === undefined || send.seen.lastSeq > head.lastSeq) head = send.seen;
      if (head === undefined) throw new Error("send batch without a conversation head");
      return prepare(conversationId, queue, head, batch);
    });
    for (const p of prepared.filter((p) => p.rows.length === 0)) {
      settle(p, { searches: [], version: p.head.version }, "conditional");
      done(p.conversationId, p.queue);
    }
    const writing = prepared.filter((p) => p.rows.length > 0);
    if (writing.length === 0) return;
    let results: Awaited<ReturnType<typeof insertMessageGroupsIfUnchanged>>;
    try {
      statementSize.observe(writing.length);
      results = await insertMessageGroupsIfUnchanged(sharedDb, writing.map((p) => ({ head: p.head, batch: p.rows })));
    } catch {
      for (const p of writing) {
        p.slot.cancel();
        p.queue.head = undefined;
        // A duplicate client id (or any error) fails the whole statement: each send, written alone, meets its own error.
        for (const send of p.batch) send.settle(undefined);
        done(p.conversationId, p.queue);
      }
      return;
    }
    writing.forEach((p, i) => {
      const written = results[i];
      if (written !== undefined) {
        settle(p, written, "conditional");
        return done(p.conversationId, p.queue);
      }
      p.slot.cancel();
      void writeLocked(p.conversationId, p.queue, p.batch).finally(() => {
        done(p.conversationId, p.queue);
        pump();
      });
    });
  }

  let inFlight = 0;

  /** Up to MAX_BATCH waiting sends of conversations with no write in flight, marked as writing. */
  function takeReady(): { conversationId: string; queue: ConversationQueue; batch: QueuedSend[] }[] {
    const ready: { conversationId: string; queue: ConversationQueue; batch: QueuedSend[] }[] = [];
    let room = MAX_BATCH;
    for (const [conversationId, queue] of queues) {
      if (room === 0) break;
      if (queue.writing || queue.waiting.length === 0) continue;
      const batch = queue.waiting.splice(0, room);
      room -= batch.length;
      queue.writing = true;
      ready.push({ conversationId, queue, batch });
    }
    return ready;
  }

  /** The conversation's batch is settled: its next one may be taken. */
  function done(conversationId: string, queue: ConversationQueue): void {
    queue.writing = false;
    // Nothing waiting and nothing writing: forget the conversation (its cached head goes too).
    if (queue.waiting.length === 0) queues.delete(conversationId);
  }

  function pump(): void {
    while (inFlight < MAX_STATEMENTS_IN_FLIGHT) {
      const ready = takeReady();
      if (ready.length === 0) return;
      inFlight += 1;
      const finish = (): void => {
        inFlight -= 1;
        pump();
      };
      writeGroups(ready).then(finish, (error: unknown) => {
        for (const r of ready) {
          if (!r.queue.writing) continue;
          for (const send of r.batch) send.fail(error);
          done(r.conversationId, r.queue);
        }
        finish();
      });
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
      pump();
      return written;
    },
  };
}
