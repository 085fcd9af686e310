/**
 * A broker outage is nobody's row's fault: while a private nats-server is
 * down the relay parks nothing (even with maxPublishAttempts 1, where one
 * counted failure would park), and after it comes back every event is
 * stored exactly once and delivered. Postgres in real mode, PGlite otherwise.
 */
import type { ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { sql } from "drizzle-orm";
import { pgSchema } from "drizzle-orm/pg-core";
import { fileURLToPath } from "node:url";
import { connect } from "nats";
import { pino } from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { createJetStreamBus } from "../src/bus/jetstream.js";
import { enqueueEvent, outboxTable, startOutboxRelay, type OutboxRelay } from "../src/outbox.js";
import type { DatabaseHandle, EventBus } from "../src/types.js";
import { dbBackends, logger, waitFor, stringEvent } from "./helpers.js";
import { freePort, killNatsServer, startNatsServer } from "./nats-server.js";

const migrationsFolder = fileURLToPath(new URL("./fixtures/migrations", import.meta.url));
const outbox = outboxTable(pgSchema("relaytest"));
const backend = dbBackends().find((b) => b.name === (process.env.PARLEY_TEST_REAL === "1" ? "postgres" : "pglite"))!;

describe(`outbox relay while the broker is down (${backend.name})`, () => {
  let server: ChildProcess | undefined;
  let storeDir = "";
  let database: DatabaseHandle | undefined;
  let bus: EventBus | undefined;
  let relay: OutboxRelay | undefined;
  afterAll(async () => {
    await relay?.stop();
    await bus?.close().catch(() => undefined);
    if (server) await killNatsServer(server);
    await database?.close();
    await backend.cleanup();
    if (storeDir) await rm(storeDir, { recursive: true, force: true });
  });

  it("parks nothing and delivers everything once the broker is back", async () => {
    database = await backend.open();
    await database.migrate({ migrationsFolder, schema: "relaytest" });
    await database.db.execute(sql`truncate relaytest.outbox`);
    const port = await freePort();
    storeDir = await mkdtemp(join(tmpdir(), "parley-nats-"));
    server = await startNatsServer(port, storeDir);
    bus = await createJetStreamBus({ natsUrl: `nats://127.0.0.1:${port}`, namespace: "outage", logger });
    const got = new Map<string, number>();
    await bus.consume({ durable: "outage-probe", subjects: ["parley.chat.>"], handler: async (m) => void got.set(m.id, (got.get(m.id) ?? 0) + 1) });

    let outageWaits = 0;
    const counting = new Writable({
      write(chunk: Buffer, _enc, done) {
        if (chunk.toString().includes("broker unavailable; outbox waits in order")) outageWaits++;
        if (process.env.DEBUG_RELAY) process.stderr.write(chunk);
        done();
      },
    });
    relay = startOutboxRelay({ database, bus, outbox, schemaName: "relaytest", logger: pino({ level: "warn" }, counting), pollMs: 50, maxPublishAttempts: 1 });
    const enqueue = (n: number): Promise<string[]> =>
      database!.db.transaction(async (tx) => {
        const ids: string[] = [];
        for (let i = 0; i < n; i++) ids.push(await enqueueEvent(tx, outbox, stringEvent, { value: String(i) }));
        return ids;
      });

    const early = await enqueue(3);
    await waitFor(() => early.every((id) => got.get(id) === 1), 10_000, "deliveries before the outage");

    await killNatsServer(server);
    const during = await enqueue(10);
    await waitFor(() => outageWaits >= 2, 30_000, "the relay trying during the outage");
    const rows = await database.db.select({ attempts: outbox.attempts, parkedAt: outbox.parkedAt }).from(outbox);
    expect(rows).toHaveLength(10);
    expect(rows.every((r) => r.parkedAt === null && r.attempts === 0)).toBe(true);

    server = await startNatsServer(port, storeDir);
    const outboxEmpty = async () => (await database!.db.select({ id: outbox.id }).from(outbox)).length === 0;
    await waitFor(outboxEmpty, 60_000, "the relay publishing after the outage");
    await waitFor(() => during.every((id) => got.get(id) !== undefined), 60_000, "deliveries after the outage");
    expect(await relay.parkedCount()).toBe(0);
    // Stored once each (a consumer may see a redelivery after a server kill: its ack can die with the server).
    const nc = await connect({ servers: `nats://127.0.0.1:${port}` });
    try {
      const info = await (await nc.jetstreamManager()).streams.info("PARLEY_outage");
      expect(info.state.messages).toBe(early.length + during.length);
    } finally {
      await nc.close();
    }
  }, 120_000);
});
