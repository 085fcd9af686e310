/**
 * `parley-events`: dead letters and parked outbox rows listed, replayed and
 * dropped through the command's own entry (runEventsCommand), and in real
 * mode once through the actual process, the way an operator runs it.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { sql } from "drizzle-orm";
import { pgSchema } from "drizzle-orm/pg-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createJetStreamBus } from "../src/bus/jetstream.js";
import { createMemoryBus } from "../src/bus/memory.js";
import { runEventsCommand } from "../src/cli/events-commands.js";
import { enqueueEvent, outboxTable, startOutboxRelay } from "../src/outbox.js";
import type { BusMessage, DatabaseHandle, EventBus } from "../src/types.js";
import { dbBackends, logger, NATS_URL, randomName, waitFor, stringEvent } from "./helpers.js";
import { deleteBusNamespace } from "../src/testing.js";

const real = process.env.PARLEY_TEST_REAL === "1";
const migrationsFolder = fileURLToPath(new URL("./fixtures/migrations", import.meta.url));
const outbox = outboxTable(pgSchema("relaytest"));
const backend = dbBackends().find((b) => b.name === (real ? "postgres" : "pglite"))!;
const namespace = randomName("cli");

async function run(args: string[], deps: { bus?: EventBus; db?: DatabaseHandle["db"] }): Promise<unknown[]> {
  const lines: string[] = [];
  await runEventsCommand(args, { ...deps, print: (l) => lines.push(l) });
  return lines.map((l) => JSON.parse(l) as unknown);
}

describe(`parley-events (${real ? "jetstream + postgres" : "memory + pglite"})`, () => {
  let database: DatabaseHandle;
  let bus: EventBus;
  beforeAll(async () => {
    database = await backend.open();
    await database.migrate({ migrationsFolder, schema: "relaytest" });
    await database.db.execute(sql`truncate relaytest.outbox`);
    bus = real ? await createJetStreamBus({ natsUrl: NATS_URL, namespace, logger }) : createMemoryBus({ logger });
  });
  afterAll(async () => {
    await bus?.close();
    if (real) await deleteBusNamespace(NATS_URL, namespace);
    await database?.close();
    await backend.cleanup();
  });

  it("dlq list / replay / drop", async () => {
    let healthy = false;
    const handled: BusMessage[] = [];
    await bus.consume({
      durable: "cli-proj",
      subjects: ["parley.identity.>"],
      maxDeliver: 1,
      handler: async (m) => {
        if (!healthy) throw new Error("peer down (injected)");
        handled.push(m);
      },
    });
    await bus.publish("parley.identity.block.created", new Uint8Array([1]), "cli-1");
    await bus.publish("parley.identity.block.created", new Uint8Array([2]), "cli-2");
    await waitFor(async () => (await bus.deadLetters.list()).length === 2, 10_000, "two dead letters");
    const listed = (await run(["dlq", "list", "--consumer", "cli-proj"], { bus })) as { seq: number; eventId: string; error: string }[];
    expect(listed.map((l) => l.eventId)).toEqual(["cli-1", "cli-2"]);
    expect(listed[0]!.error).toMatch(/peer down/);

    if (real) {
      // The real process, as in a container: same environment as the services.
      const cli = fileURLToPath(new URL("../src/cli/parley-events.ts", import.meta.url));
      const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", cli, "dlq", "list"], {
        env: { ...process.env, NATS_URL, BUS_NAMESPACE: namespace, LOG_LEVEL: "silent" },
      });
      expect(stdout).toContain('"eventId":"cli-1"');
    }

    healthy = true;
    await run(["dlq", "replay", String(listed[0]!.seq)], { bus });
    await run(["dlq", "drop", String(listed[1]!.seq)], { bus });
    await waitFor(() => handled.length === 1, 10_000, "the replayed event");
    expect(handled[0]!.id).toBe("cli-1");
    expect(await run(["dlq", "list"], { bus })).toEqual([]);
  }, 60_000);

  it("outbox list / replay / drop of parked rows", async () => {
    const got: string[] = [];
    await bus.consume({ durable: "cli-outbox", subjects: ["parley.chat.>"], handler: async (m) => void got.push(m.id) });
    const [a, b] = await database.db.transaction(async (tx) => [
      await enqueueEvent(tx, outbox, stringEvent, { value: "a" }),
      await enqueueEvent(tx, outbox, stringEvent, { value: "b" }),
    ]);
    await database.db.update(outbox).set({ parkedAt: new Date(), attempts: 10, lastError: "injected" });
    const relay = startOutboxRelay({ database, bus, outbox, schemaName: "relaytest", logger, pollMs: 50 });
    try {
      const listed = (await run(["outbox", "list", "relaytest"], { db: database.db })) as { id: string; attempts: number; lastError: string }[];
      expect(listed).toMatchObject([
        { id: a, attempts: 10, lastError: "injected" },
        { id: b, attempts: 10, lastError: "injected" },
      ]);
      expect(await run(["outbox", "replay", "relaytest", a!], { db: database.db })).toEqual([{ unparked: 1 }]);
      await waitFor(() => got.includes(a!), 10_000, "the unparked row published");
      expect(await run(["outbox", "drop", "relaytest", b!], { db: database.db })).toEqual([{ dropped: 1 }]);
      expect(await run(["outbox", "list", "relaytest"], { db: database.db })).toEqual([]);
      expect(got).toEqual([a]);
      await expect(run(["outbox", "list", "x; drop table relaytest.outbox"], { db: database.db })).rejects.toThrow(/not a schema name/);
    } finally {
      await relay.stop();
    }
  }, 60_000);
});
