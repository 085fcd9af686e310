/** Backends and helpers shared by the platform's own tests. */
import { connect } from "nats";
import { randomBytes } from "node:crypto";
import pg from "pg";
import { pino } from "pino";
import { createJetStreamBus } from "../src/bus/jetstream.js";
import { createMemoryBus } from "../src/bus/memory.js";
import { openDatabase } from "../src/db.js";
import { StringValueSchema } from "@bufbuild/protobuf/wkt";
import type { EventType } from "../src/bus/event-catalog.js";
import type { DatabaseHandle, EventBus } from "../src/types.js";

export const NATS_URL = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
export const PG_ADMIN_URL = process.env.PG_ADMIN_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

export const logger = pino({ level: process.env.LOG_LEVEL ?? "silent" });

export function randomName(prefix: string): string {
  return `${prefix}${randomBytes(5).toString("hex")}`;
}

export interface BusBackend {
  name: string;
  /**
   * Buses opened with the same scope see the same events: JetStream
   * connections in one namespace (like replicas), or, in-process, one shared
   * bus (like services mounted in one embedded process).
   */
  open(scope: string): Promise<EventBus>;
  cleanup(): Promise<void>;
}

export function busBackends(): BusBackend[] {
  const namespaces = new Set<string>();
  const memory = new Map<string, EventBus>();
  return [
    {
      name: "memory",
      async open(scope) {
        let bus = memory.get(scope);
        if (!bus) memory.set(scope, (bus = createMemoryBus({ logger })));
        return bus;
      },
      cleanup: async () => memory.clear(),
    },
    {
      name: "jetstream",
      async open(scope) {
        namespaces.add(scope);
        return createJetStreamBus({ natsUrl: NATS_URL, namespace: scope, logger });
      },
      async cleanup() {
        // Test namespaces leave streams behind on the shared server otherwise.
        const nc = await connect({ servers: NATS_URL });
        const jsm = await nc.jetstreamManager();
        for (const ns of namespaces) {
          for (const s of [`PARLEY_${ns}`, `PARLEY_EDGE_${ns}`, `PARLEY_SIGNALS_${ns}`, `PARLEY_DLQ_${ns}`]) await jsm.streams.delete(s).catch(() => false);
        }
        namespaces.clear();
        await nc.close();
      },
    },
  ];
}

export interface DbBackend {
  name: string;
  open(): Promise<DatabaseHandle>;
  cleanup(): Promise<void>;
}

export function dbBackends(): DbBackend[] {
  let database: string | undefined;
  return [
    { name: "pglite", open: () => openDatabase({ dataDir: "memory", logger }), cleanup: async () => undefined },
    {
      name: "postgres",
      async open() {
        if (!database) {
          database = randomName("platform_test_");
          await admin(`create database ${database}`);
        }
        return openDatabase({ url: PG_ADMIN_URL.replace(/\/[^/]*$/, `/${database}`), dataDir: "unused", logger });
      },
      async cleanup() {
        if (database) await admin(`drop database if exists ${database} with (force)`);
        database = undefined;
      },
    },
  ];
}

async function admin(statement: string): Promise<void> {
  const c = new pg.Client({ connectionString: PG_ADMIN_URL });
  await c.connect();
  try {
    await c.query(statement);
  } finally {
    await c.end();
  }
}

export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function deferred(): { promise: Promise<void>; resolve(): void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** An event type for outbox tests: a StringValue on chat's message subject (the platform does not care what it carries). */
export const stringEvent: EventType<typeof StringValueSchema> = {
  subject: "parley.chat.message.created",
  stream: "PARLEY",
  schema: StringValueSchema,
  name: "test.StringEvent",
};
