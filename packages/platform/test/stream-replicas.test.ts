/**
 * NATS_STREAM_REPLICAS reaches every JetStream stream the bus creates: 3 on a private 3-node
 * JetStream cluster (what production runs), 1 by default on a single server. Private
 * nats-servers on free 127.0.0.1 ports (the shared one is a single node serving other tests).
 */
import { connect, type NatsConnection } from "nats";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChildProcess } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { createBus } from "../src/bus/index.js";
import { DEAD_LETTER_STREAM, STREAMS } from "../src/bus/subjects.js";
import { ConfigError, loadConfig } from "../src/config.js";
import type { EventBus } from "../src/types.js";
import { logger } from "./helpers.js";
import { freePort, killNatsServer, startNatsCluster, startNatsServer, type NatsCluster } from "./nats-server.js";

const REAL = process.env.PARLEY_TEST_REAL === "1";
const NAMESPACE = "replicas";
const streamNames = [...STREAMS, DEAD_LETTER_STREAM].map((s) => `${s.name}_${NAMESPACE}`);

describe("NATS_STREAM_REPLICAS", () => {
  it("defaults to 1 and accepts 1–5 only", () => {
    expect(loadConfig({}).natsStreamReplicas).toBe(1);
    expect(loadConfig({ NATS_STREAM_REPLICAS: "3" }).natsStreamReplicas).toBe(3);
    for (const bad of ["0", "6", "2.5", "three"]) {
      expect(() => loadConfig({ NATS_STREAM_REPLICAS: bad }), bad).toThrow(ConfigError);
    }
  });
});

describe.skipIf(!REAL)("stream replicas on JetStream", () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    // Reverse order: buses and connections close before their servers are killed.
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    cleanups.length = 0;
  });

  async function tempDir(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), "parley-replicas-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    return dir;
  }

  /** Retries until `make` succeeds: a fresh cluster answers JetStream only once it has a meta leader. */
  async function retry<T>(what: string, make: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        return await make();
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`${what} did not succeed within ${timeoutMs} ms`, { cause: err });
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  async function replicasOf(nc: NatsConnection): Promise<Record<string, { configured: number; peers: number }>> {
    const jsm = await nc.jetstreamManager();
    const out: Record<string, { configured: number; peers: number }> = {};
    for (const name of streamNames) {
      const info = await jsm.streams.info(name);
      // cluster.replicas lists the followers; the leader is the remaining copy.
      out[name] = { configured: info.config.num_replicas, peers: 1 + (info.cluster?.replicas?.length ?? 0) };
    }
    return out;
  }

  async function openBus(natsUrl: string, env: Record<string, string>): Promise<EventBus> {
    const config = loadConfig(env);
    const bus = await createBus({ natsUrl, namespace: NAMESPACE, logger, streamReplicas: config.natsStreamReplicas });
    cleanups.push(() => bus.close());
    return bus;
  }

  it("a 3-node cluster with NATS_STREAM_REPLICAS=3 keeps every stream on 3 servers", async () => {
    const cluster: NatsCluster = await startNatsCluster(3, await tempDir());
    cleanups.push(() => cluster.stop());
    const nc = await connect({ servers: cluster.urls, maxReconnectAttempts: 0 });
    cleanups.push(() => nc.close());
    // Until the meta leader exists, account info fails with "JetStream system temporarily unavailable".
    await retry("JetStream meta leader election", async () => (await nc.jetstreamManager()).getAccountInfo());

    await openBus(cluster.url, { NATS_STREAM_REPLICAS: "3" });
    const expected = Object.fromEntries(streamNames.map((n) => [n, { configured: 3, peers: 3 }]));
    // Followers join the stream's raft group a moment after it is created.
    await retry("stream peers", async () => expect(await replicasOf(nc)).toEqual(expected), 15_000);
  }, 90_000);

  it("a single server gets 1 replica by default, and refuses 3", async () => {
    const port = await freePort();
    const server: ChildProcess = await startNatsServer(port, await tempDir());
    cleanups.push(() => killNatsServer(server));
    const url = `nats://127.0.0.1:${port}`;
    const nc = await connect({ servers: url, maxReconnectAttempts: 0 });
    cleanups.push(() => nc.close());

    await openBus(url, {});
    expect(await replicasOf(nc)).toEqual(Object.fromEntries(streamNames.map((n) => [n, { configured: 1, peers: 1 }])));
    // A replica count the broker cannot hold stops the start instead of silently running on one copy.
    await expect(createBus({ natsUrl: url, namespace: "replicas_refused", logger, streamReplicas: 3 })).rejects.toThrow(/cannot create or update stream/);
  }, 60_000);
});
