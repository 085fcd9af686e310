/** Database handle, outbox relay and inbox, run against PGlite and Postgres. */
import { StringValueSchema } from "@bufbuild/protobuf/wkt";
import { sql } from "drizzle-orm";
import { pgSchema } from "drizzle-orm/pg-core";
import { fileURLToPath } from "node:url";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createMemoryBus } from "../src/bus/memory.js";
import { handleOnce, inboxTable } from "../src/inbox.js";
import { MAX_EVENT_BYTES } from "../src/bus/errors.js";
import { decodeEvent, enqueueEvent, enqueueEvents, enqueueOutboxEvents, newEventId, outboxTable, startOutboxRelay } from "../src/outbox.js";
import { createOutboxFastPath } from "../src/outbox-fast-path.js";
import type { BusMessage, DatabaseHandle, EventBus } from "../src/types.js";
import { dbBackends, deferred, delay, logger, waitFor, stringEvent } from "./helpers.js";

const migrationsFolder = fileURLToPath(new URL("./fixtures/migrations", import.meta.url));
const schema = pgSchema("relaytest");
const outbox = outboxTable(schema);
const inbox = inboxTable(schema);

/** `Database.execute` is typed `unknown` (generic over drivers); both drivers return `{ rows }`. */
function rowsOf(result: unknown): unknown[] {
  return (result as { rows: unknown[] }).rows;
}

/** Records what the relay published; can be told to fail. */
function recordingBus(inner: EventBus): EventBus & { published: string[]; failures: number } {
  const bus = {
    published: [] as string[],
    failures: 0,
    async publish(subject: string, data: Uint8Array, msgId: string) {
      if (bus.failures > 0) {
        bus.failures--;
        throw new Error("broker unavailable (injected)");
      }
      await inner.publish(subject, data, msgId);
      bus.published.push(msgId);
    },
    consume: inner.consume.bind(inner),
    consumeOwn: inner.consumeOwn.bind(inner),
    ping: inner.ping.bind(inner),
    close: inner.close.bind(inner),
    deadLetters: inner.deadLetters,
  };
  return bus;
}

describe.each(dbBackends())("database, outbox, inbox ($name)", (backend) => {
  let database: DatabaseHandle;
  let bus: ReturnType<typeof recordingBus>;
  let received: BusMessage[];

  beforeAll(async () => {
    database = await backend.open();
    await database.migrate({ migrationsFolder, schema: "relaytest" });
  });
  afterAll(async () => {
    await database?.close();
    await backend.cleanup();
  });
  beforeEach(async () => {
    await database.db.execute(sql`truncate relaytest.outbox, relaytest.processed_events, relaytest.applied`);
    bus = recordingBus(createMemoryBus({ logger }));
    received = [];
    await bus.consume({ durable: "test", subjects: ["parley.chat.>"], handler: async (m) => void received.push(m) });
  });

  it("pings, has pg_trgm, and re-running migrations (also concurrently) is a no-op", async () => {
    await database.ping();
    await Promise.all([1, 2, 3].map(() => database.migrate({ migrationsFolder, schema: "relaytest" })));
    if (backend.name === "postgres") {
      // Several services migrating one Postgres at once, each with its own pool.
      const others = await Promise.all([1, 2].map(() => backend.open()));
      await Promise.all(others.map((d) => d.migrate({ migrationsFolder, schema: "relaytest" })));
      await Promise.all(others.map((d) => d.close()));
    }
    const rows = await database.db.execute(sql`select count(*)::int as n from relaytest.__migrations`);
    expect(rowsOf(rows)[0]).toEqual({ n: 2 });
    const sim = await database.db.execute(sql`select similarity('parley', 'parlay') > 0.3 as ok`);
    expect(rowsOf(sim)[0]).toEqual({ ok: true });
  });

  it("LISTEN receives a NOTIFY sent on commit", async () => {
    let notified = 0;
    const unlisten = await database.listen("relaytest_probe", () => notified++);
    await database.db.execute(sql`select pg_notify('relaytest_probe', '')`);
    await waitFor(() => notified === 1);
    await unlisten();
  });

  it("publishes every committed event once, including transactions that commit out of id order", async () => {
    const relay = startOutboxRelay({ database, bus, outbox, schemaName: "relaytest", logger, pollMs: 5_000 });
    try {
      // A row whose id is older than rows already relayed, as when a slow transaction commits late.
      const lateId = newEventId();
      const first = await database.db.transaction((tx) => enqueueEvent(tx, outbox, stringEvent, { value: "first" }));
      await waitFor(() => bus.published.includes(first));
      await database.db.insert(outbox).values({ id: lateId, subject: "parley.chat.message.created", payload: new Uint8Array([10, 4, 108, 97, 116, 101]) });
      await database.db.execute(sql`select pg_notify('relaytest_outbox', '')`);
      await waitFor(() => bus.published.includes(lateId), 3_000, "the late row (woken by NOTIFY, not the 5 s poll)");

      if (backend.name === "postgres") {
        // Real concurrency: tx A takes its id first but commits after tx B.
        const gate = deferred();
        const aEnqueued = deferred();
        let aId = "";
        const txA = database.db.transaction(async (tx) => {
          aId = await enqueueEvent(tx, outbox, stringEvent, { value: "A" });
          aEnqueued.resolve();
          await gate.promise;
        });
        await aEnqueued.promise;
        const bId = await database.db.transaction((tx) => enqueueEvent(tx, outbox, stringEvent, { value: "B" }));
        expect(aId < bId).toBe(true);
        await waitFor(() => bus.published.includes(bId));
        gate.resolve();
        await txA;
        await waitFor(() => bus.published.includes(aId), 3_000, "tx A's event");
      }

      const many = await database.db.transaction(async (tx) => {
        const ids: string[] = [];
        for (let i = 0; i < 250; i++) ids.push(await enqueueEvent(tx, outbox, stringEvent, { value: `m${i}` }));
        return ids;
      });
      await waitFor(() => many.every((id) => bus.published.includes(id)), 10_000, "250 events in several batches");
      await waitFor(() => received.length === bus.published.length);
      expect(new Set(bus.published).size).toBe(bus.published.length);
      expect(received.map((m) => m.id).sort()).toEqual([...bus.published].sort());
      const late = received.find((m) => m.id === lateId)!;
      expect(decodeEvent(StringValueSchema, late).value).toBe("late");
      expect(decodeEvent(StringValueSchema, received.find((m) => m.id === first)!).value).toBe("first");
      // The relay deletes a batch in the transaction that published it; the
      // last batch's commit may land just after its events reached the bus.
      await waitFor(async () => (await database.db.select().from(outbox)).length === 0, 3_000, "published rows deleted");
    } finally {
      await relay.stop();
    }
  });

  it("enqueues a batch in one statement: every event published once, in order, with its own id", async () => {
    const relay = startOutboxRelay({ database, bus, outbox, schemaName: "relaytest", logger, pollMs: 50 });
    try {
      const values = ["n1", "n2", "n3"].map((value) => ({ value }));
      const ids = await database.db.transaction((tx) => enqueueEvents(tx, outbox, stringEvent, values));
      expect(new Set(ids).size).toBe(3);
      await waitFor(() => received.length === 3);
      expect(received.map((m) => m.id)).toEqual(ids);
      expect(received.map((m) => decodeEvent(StringValueSchema, m).value)).toEqual(["n1", "n2", "n3"]);
      expect(await database.db.transaction((tx) => enqueueEvents(tx, outbox, stringEvent, []))).toEqual([]);
    } finally {
      await relay.stop();
    }
  });

  it("a rolled-back transaction publishes nothing", async () => {
    const relay = startOutboxRelay({ database, bus, outbox, schemaName: "relaytest", logger, pollMs: 50 });
    try {
      await expect(
        database.db.transaction(async (tx) => {
          await enqueueEvent(tx, outbox, stringEvent, { value: "never" });
          throw new Error("validation failed (expected)");
        }),
      ).rejects.toThrow(/validation failed/);
      const ok = await database.db.transaction((tx) => enqueueEvent(tx, outbox, stringEvent, { value: "ok" }));
      await waitFor(() => received.length === 1);
      await delay(200);
      expect(bus.published).toEqual([ok]);
    } finally {
      await relay.stop();
    }
  });

  it("survives bus failures: rows stay and are published after the bus recovers", async () => {
    bus.failures = 3;
    const relay = startOutboxRelay({ database, bus, outbox, schemaName: "relaytest", logger, pollMs: 50 });
    try {
      const ids = await database.db.transaction(async (tx) => [
        await enqueueEvent(tx, outbox, stringEvent, { value: "1" }),
        await enqueueEvent(tx, outbox, stringEvent, { value: "2" }),
      ]);
      await waitFor(() => received.length === 2, 10_000, "delivery after recovery");
      await delay(200);
      // A batch that failed half way may have been republished; the broker's msgId dedupe keeps one.
      expect(received.map((m) => m.id).sort()).toEqual([...ids].sort());
      expect(bus.failures).toBe(0);
    } finally {
      await relay.stop();
    }
  });

  it("refuses an event over MAX_EVENT_BYTES: the write fails with resource_exhausted and writes nothing", async () => {
    const big = "x".repeat(MAX_EVENT_BYTES + 1);
    const write = database.db.transaction(async (tx) => {
      await tx.execute(sql`insert into relaytest.applied (event_id, n) values ('big', 1)`);
      await enqueueEvent(tx, outbox, stringEvent, { value: big });
    });
    await expect(write).rejects.toMatchObject({ code: Code.ResourceExhausted, rawMessage: expect.stringMatching(/over the limit/) });
    expect(rowsOf(await database.db.execute(sql`select count(*)::int as n from relaytest.applied`))[0]).toEqual({ n: 0 });
    expect(rowsOf(await database.db.execute(sql`select count(*)::int as n from relaytest.outbox`))[0]).toEqual({ n: 0 });
  });

  it("a row failing with the broker up is retried in order, then parked after maxPublishAttempts; later rows wait, then flow", async () => {
    const [first, second] = await database.db.transaction(async (tx) => [
      await enqueueEvent(tx, outbox, stringEvent, { value: "stuck" }),
      await enqueueEvent(tx, outbox, stringEvent, { value: "behind" }),
    ]);
    // Pipelined batches: batch 1 fails both rows (first counted, second queued behind it), batch 2
    // fails the first again (parked at 2 attempts) and publishes the second.
    bus.failures = 3;
    const relay = startOutboxRelay({ database, bus, outbox, schemaName: "relaytest", logger, pollMs: 20, maxPublishAttempts: 2 });
    try {
      await waitFor(async () => received.length === 1 && (await relay.parkedCount()) === 1, 10_000, "the row behind the parked one");
      expect(received.map((m) => m.id)).toEqual([second]);
      const parked = rowsOf(await database.db.execute(sql`select id, attempts, parked_at is not null as parked from relaytest.outbox`));
      expect(parked).toEqual([{ id: first, attempts: 2, parked: true }]);
      expect(await relay.parkedCount()).toBe(1);
      expect(await relay.degraded()).toMatch(/1 parked outbox event/);
    } finally {
      await relay.stop();
    }
  });

  it("two relays on one outbox (replicas) publish each event once", async () => {
    const relays = [1, 2].map(() => startOutboxRelay({ database, bus, outbox, schemaName: "relaytest", logger, pollMs: 20 }));
    try {
      const ids: string[] = [];
      for (let i = 0; i < 20; i++) {
        ids.push(await database.db.transaction((tx) => enqueueEvent(tx, outbox, stringEvent, { value: String(i) })));
      }
      await waitFor(() => received.length === 20);
      await delay(200);
      expect([...bus.published].sort()).toEqual([...ids].sort());
    } finally {
      await Promise.all(relays.map((r) => r.stop()));
    }
  });

  const enqueueForFastPath = (value: string) =>
    database.db.transaction((tx) =>
      enqueueOutboxEvents(tx, outbox, stringEvent, [{ value }], { notifyRelay: false }),
    );
  const outboxIds = async () => rowsOf(await database.db.execute(sql`select id from relaytest.outbox order by id`)).map((r) => (r as { id: string }).id);

  it("fast path: a committed event reaches the bus with no relay running, and its row is deleted", async () => {
    const fastPath = createOutboxFastPath({ db: database.db, bus, outbox, schemaName: "relaytest", logger });
    const events = await enqueueForFastPath("fast");
    await fastPath.publishCommitted(events, "conversation-1");
    await fastPath.drain();
    expect(received.map((m) => m.id)).toEqual(events.map((e) => e.id));
    expect(await outboxIds()).toEqual([]);
  });

  it("fast path: slots publish in the order they were taken, whatever order the commits are reported in", async () => {
    const fastPath = createOutboxFastPath({ db: database.db, bus, outbox, schemaName: "relaytest", logger });
    const first = fastPath.slot("conversation-1");
    const cancelled = fastPath.slot("conversation-1");
    const second = fastPath.slot("conversation-1");
    const [a, b] = [await enqueueForFastPath("a"), await enqueueForFastPath("b")];
    void second.publish(b);
    await delay(50);
    expect(received).toEqual([]);
    cancelled.cancel();
    void first.publish(a);
    await fastPath.drain();
    await waitFor(() => received.length === 2);
    expect(received.map((m) => m.id)).toEqual([...a, ...b].map((e) => e.id));
  });

  it("fast path failing: the relay publishes the event and those behind it once, in order, then the fast path reopens", async () => {
    const fastPath = createOutboxFastPath({ db: database.db, bus, outbox, schemaName: "relaytest", logger });
    bus.failures = 1;
    const first = await enqueueForFastPath("fails fast");
    await fastPath.publishCommitted(first, "conversation-1");
    expect(fastPath.open).toBe(false);
    const behind = await enqueueForFastPath("behind it");
    await fastPath.publishCommitted(behind, "conversation-1");
    expect(received).toEqual([]);
    const relay = startOutboxRelay({ database, bus, outbox, schemaName: "relaytest", logger, pollMs: 20, fastPath, graceMs: 60_000 });
    try {
      await waitFor(() => received.length === 2 && fastPath.open, 10_000, "relay publishes, fast path reopens");
      expect(received.map((m) => m.id)).toEqual([...first, ...behind].map((e) => e.id));
      const after = await enqueueForFastPath("after");
      await fastPath.publishCommitted(after, "conversation-1");
      await fastPath.drain();
      await delay(100);
      expect(received.map((m) => m.id)).toEqual([...first, ...behind, ...after].map((e) => e.id));
      expect(await outboxIds()).toEqual([]);
    } finally {
      await relay.stop();
    }
  });

  it("fast path open: the relay leaves young rows to it and takes a row it never got to after the grace period", async () => {
    const fastPath = createOutboxFastPath({ db: database.db, bus, outbox, schemaName: "relaytest", logger });
    const relay = startOutboxRelay({ database, bus, outbox, schemaName: "relaytest", logger, pollMs: 20, fastPath, graceMs: 300 });
    try {
      // As if the process died between commit and publish.
      const orphan = await enqueueForFastPath("orphan");
      const handed = await enqueueForFastPath("handed over");
      await delay(100);
      expect(received).toEqual([]);
      await fastPath.publishCommitted(handed, "conversation-2");
      await waitFor(() => received.length === 2, 10_000, "the orphan after the grace period");
      expect(received.map((m) => m.id)).toEqual([...handed, ...orphan].map((e) => e.id));
      await delay(100);
      expect(bus.published.filter((id) => id === handed[0]!.id)).toHaveLength(1);
    } finally {
      await relay.stop();
    }
  });

  it("fast path open: the relay does not take an old row ahead of a younger one before it in id order", async () => {
    const fastPath = createOutboxFastPath({ db: database.db, bus, outbox, schemaName: "relaytest", logger });
    // The second row's transaction started long ago (it waited for a lock) but committed after the first.
    const first = { id: newEventId(), subject: "parley.chat.message.created", payload: new Uint8Array([1]) };
    const second = { id: newEventId(), subject: "parley.chat.message.created", payload: new Uint8Array([2]), createdAt: new Date(Date.now() - 60_000) };
    await database.db.insert(outbox).values([first, second]);
    const relay = startOutboxRelay({ database, bus, outbox, schemaName: "relaytest", logger, pollMs: 20, fastPath, graceMs: 500 });
    try {
      await waitFor(() => received.length === 2, 10_000, "both rows once the first is old");
      expect(received.map((m) => m.id)).toEqual([first.id, second.id]);
    } finally {
      await relay.stop();
    }
  });

  it("handleOnce applies a redelivered event once, and retries after a failure", async () => {
    const apply = (eventId: string, fail = false) =>
      handleOnce(database.db, inbox, "projection", eventId, async (tx) => {
        await tx.execute(sql`insert into relaytest.applied (event_id, n) values (${eventId}, 1)`);
        if (fail) throw new Error("handler failed (expected)");
      });
    await expect(apply("ev-1", true)).rejects.toThrow(/handler failed/);
    expect(await apply("ev-1")).toBe(true);
    expect(await apply("ev-1")).toBe(false);
    const results = await Promise.all([apply("ev-2"), apply("ev-2"), apply("ev-2")]);
    expect(results.filter(Boolean)).toHaveLength(1);
    const rows = await database.db.execute(sql`select event_id, count(*)::int as n from relaytest.applied group by event_id order by event_id`);
    expect(rowsOf(rows)).toEqual([
      { event_id: "ev-1", n: 1 },
      { event_id: "ev-2", n: 1 },
    ]);
    // Another consumer of the same event is independent.
    expect(await handleOnce(database.db, inbox, "other", "ev-1", async () => undefined)).toBe(true);
  });
});
