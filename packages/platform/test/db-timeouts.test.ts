/**
 * A Postgres that stops answering (blackholed network, hung server) must not
 * pile requests up: calls fail `unavailable` within the pool's timeouts and
 * work again once the server answers. The shared Postgres is never touched: a
 * TCP proxy between the pool and it stops forwarding (without closing) on
 * demand.
 */
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { UserSchema } from "@parley/gen/parley/identity/v1/user_pb";
import { UserService } from "@parley/gen/parley/identity/v1/user_service_pb";
import { sql } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { isBackendUnavailable } from "../src/backend-errors.js";
import { openDatabase } from "../src/db.js";
import { startServer } from "../src/server.js";
import { bearer, createTestDatabase, createTestPlatform, type TestPlatform } from "../src/testing.js";
import type { DatabaseHandle, ServiceModule } from "../src/types.js";
import { logger, waitFor } from "./helpers.js";

const REAL = process.env.PARLEY_TEST_REAL === "1";

/** Forwards 127.0.0.1:<port> to Postgres; `blackhole()` stops all traffic both ways without closing anything. */
async function startProxy(target: { host: string; port: number }) {
  let holding = false;
  const pipes: Array<{ client: net.Socket; upstream: net.Socket }> = [];
  const waiting: net.Socket[] = [];
  const connectUpstream = (client: net.Socket): void => {
    const upstream = net.connect(target);
    pipes.push({ client, upstream });
    client.pipe(upstream);
    upstream.pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
  };
  const server = net.createServer((client) => {
    if (holding) {
      // A blackholed server accepts nothing: the connection just hangs.
      client.pause();
      waiting.push(client);
      return;
    }
    connectUpstream(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    blackhole() {
      holding = true;
      for (const p of pipes) {
        p.client.unpipe(p.upstream);
        p.upstream.unpipe(p.client);
        p.client.pause();
        p.upstream.pause();
      }
    },
    resume() {
      holding = false;
      for (const p of pipes) {
        if (p.client.destroyed || p.upstream.destroyed) continue;
        p.client.pipe(p.upstream);
        p.upstream.pipe(p.client);
      }
      for (const c of waiting.splice(0)) if (!c.destroyed) connectUpstream(c);
    },
    async close() {
      for (const p of pipes) {
        p.client.destroy();
        p.upstream.destroy();
      }
      for (const c of waiting) c.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** GetUser runs a query in a transaction, like every handler that writes. */
function dbModule(database: DatabaseHandle): ServiceModule {
  return {
    name: "db-probe",
    routes(router) {
      router.service(UserService, {
        async getUser(req) {
          await database.db.transaction(async (tx) => {
            await tx.execute(sql`select 1`);
          });
          return { user: create(UserSchema, { id: req.userId }) };
        },
      });
    },
    async start() {},
    async stop() {},
  };
}

describe("backend error classification", () => {
  it("treats pool/connection timeouts and lost connections as unavailable, nothing else", () => {
    expect(isBackendUnavailable(new Error("timeout exceeded when trying to connect"))).toBe(true);
    expect(isBackendUnavailable(new Error("Query read timeout"))).toBe(true);
    expect(isBackendUnavailable(new Error("wrapped", { cause: Object.assign(new Error("canceling statement due to statement timeout"), { code: "57014" }) }))).toBe(true);
    expect(isBackendUnavailable(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }))).toBe(true);
    expect(isBackendUnavailable(Object.assign(new Error("duplicate key"), { code: "23505" }))).toBe(false);
    expect(isBackendUnavailable(new Error("boom"))).toBe(false);
  });
});

describe.skipIf(!REAL)("a blackholed Postgres", () => {
  let platform: TestPlatform | undefined;
  const closers: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
    await platform?.close();
  });

  it("answers unavailable within the timeouts, and recovers when Postgres answers again", async () => {
    const testDb = await createTestDatabase();
    closers.push(testDb.drop);
    const target = new URL(testDb.url);
    const proxy = await startProxy({ host: target.hostname, port: Number(target.port || 5432) });
    closers.push(() => proxy.close());
    const viaProxy = new URL(testDb.url);
    viaProxy.host = `127.0.0.1:${proxy.port}`;
    const database = await openDatabase({
      url: viaProxy.toString(),
      dataDir: "memory",
      logger,
      pool: { max: 2, connectTimeoutMs: 1_000, statementTimeoutMs: 1_000, idleInTxTimeoutMs: 5_000 },
    });
    closers.push(() => database.close());

    platform = await createTestPlatform({ real: false });
    const token = await platform.mintAccessToken("u1");
    const server = await startServer({ deps: platform.deps, modules: [dbModule(database)], port: 0, host: "127.0.0.1" });
    closers.push(() => server.close());
    const client = createClient(UserService, createConnectTransport({ baseUrl: server.url, httpVersion: "1.1", interceptors: [bearer(token)] }));
    const call = async (id: string): Promise<Code | "ok"> => {
      try {
        await client.getUser({ userId: id }, { timeoutMs: 20_000 });
        return "ok";
      } catch (err) {
        return ConnectError.from(err).code;
      }
    };

    expect(await call("before")).toBe("ok");
    proxy.blackhole();
    // More calls than pooled connections: some wait for a connection, some hang on one.
    const during = await Promise.all(Array.from({ length: 6 }, (_, i) => call(`during-${i}`)));
    expect(during).toEqual(Array(6).fill(Code.Unavailable));

    proxy.resume();
    await waitFor(async () => (await call("after")) === "ok", 20_000, "calls succeed again after the proxy resumes");
    // Every pooled connection works again (no client stuck behind a lost answer).
    expect(await Promise.all(Array.from({ length: 4 }, (_, i) => call(`after-${i}`)))).toEqual(Array(4).fill("ok"));
    // Nothing leaked: closing the pool waits for every checked-out client, so it only ends if all came back.
    await database.close();
  }, 90_000);

  it("applies the statement timeout to requests but not to migrations (a long index build must not fail start-up)", async () => {
    const testDb = await createTestDatabase();
    closers.push(testDb.drop);
    const database = await openDatabase({
      url: testDb.url,
      dataDir: "memory",
      logger,
      pool: { max: 2, connectTimeoutMs: 2_000, statementTimeoutMs: 200, idleInTxTimeoutMs: 5_000 },
    });
    closers.push(() => database.close());
    const folder = await mkdtemp(join(tmpdir(), "parley-slow-migration-"));
    closers.push(() => rm(folder, { recursive: true, force: true }));
    await mkdir(join(folder, "meta"));
    await writeFile(join(folder, "0000_slow.sql"), "SELECT pg_sleep(0.6);\n--> statement-breakpoint\nCREATE TABLE \"slowmig\".\"t\" (\"id\" integer);\n");
    await writeFile(
      join(folder, "meta", "_journal.json"),
      JSON.stringify({ version: "7", dialect: "postgresql", entries: [{ idx: 0, version: "7", when: Date.now(), tag: "0000_slow", breakpoints: true }] }),
    );
    await database.migrate({ migrationsFolder: folder, schema: "slowmig" });
    const slow = await database.db.execute(sql`select pg_sleep(0.6)`).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(isBackendUnavailable(slow)).toBe(true);
    await database.db.execute(sql`select count(*) from "slowmig"."t"`);
  }, 60_000);
});
