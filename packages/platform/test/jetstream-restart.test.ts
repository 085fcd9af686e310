/**
 * A NATS restart loses nothing: uses a private nats-server (the shared one
 * serves other engineers' tests), kills it mid-stream and restarts it on the
 * same port and store directory.
 */
import type { ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createJetStreamBus } from "../src/bus/jetstream.js";
import type { EventBus } from "../src/types.js";
import { logger, waitFor } from "./helpers.js";
import { freePort, killNatsServer as kill, startNatsServer as startServer } from "./nats-server.js";

describe("JetStream bus across a server restart", () => {
  let server: ChildProcess | undefined;
  let storeDir = "";
  const buses: EventBus[] = [];
  afterAll(async () => {
    await Promise.all(buses.map((b) => b.close().catch(() => undefined)));
    if (server) await kill(server);
    if (storeDir) await rm(storeDir, { recursive: true, force: true });
  });

  it("durable and own consumers resume and nothing is lost", async () => {
    const port = await freePort();
    storeDir = await mkdtemp(join(tmpdir(), "parley-nats-"));
    server = await startServer(port, storeDir);
    const bus = await createJetStreamBus({ natsUrl: `nats://127.0.0.1:${port}`, namespace: "restart", logger });
    buses.push(bus);
    const durableGot = new Set<string>();
    const ownGot = new Set<string>();
    await bus.consume({ durable: "svc-proj", subjects: ["parley.chat.>"], handler: async (m) => void durableGot.add(m.id) });
    await bus.consumeOwn({ name: "edge-n1", subjects: ["parley.realtime.edge.n1.>"], handler: async (m) => void ownGot.add(m.id) });

    const publishBoth = async (i: number): Promise<void> => {
      await bus.publish("parley.chat.message.created", new Uint8Array([i]), `chat-${i}`);
      await bus.publish("parley.realtime.edge.n1.deliver", new Uint8Array([i]), `edge-${i}`);
    };
    for (let i = 0; i < 20; i++) await publishBoth(i);
    await waitFor(() => durableGot.size === 20 && ownGot.size === 20, 10_000, "deliveries before restart");

    // Stored but not yet consumed when the server dies: stop nothing, just publish and kill.
    for (let i = 20; i < 30; i++) await publishBoth(i);
    await kill(server);
    server = await startServer(port, storeDir);
    await waitFor(
      async () => {
        try {
          await bus.ping();
          return true;
        } catch {
          return false;
        }
      },
      20_000,
      "reconnect",
    );
    // Publishing while consumers recover; the relay would retry these on failure, so do the same.
    for (let i = 30; i < 40; i++) {
      await waitFor(async () => publishBoth(i).then(() => true, () => false), 20_000, `publish ${i}`);
    }
    await waitFor(() => durableGot.size === 40 && ownGot.size === 40, 30_000, `deliveries after restart (durable ${durableGot.size}, own ${ownGot.size})`);
    expect([...durableGot].sort()).toEqual(Array.from({ length: 40 }, (_, i) => `chat-${i}`).sort());
    expect([...ownGot].sort()).toEqual(Array.from({ length: 40 }, (_, i) => `edge-${i}`).sort());
  }, 90_000);
});
