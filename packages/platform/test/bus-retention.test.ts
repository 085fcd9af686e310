/**
 * What the bus keeps: the in-process bus is bounded (count, bytes, age), and
 * typing/presence signals never enter the 7-day durable stream.
 */
import { connect } from "nats";
import { afterAll, describe, expect, it } from "vitest";
import { createJetStreamBus } from "../src/bus/jetstream.js";
import { createMemoryBus } from "../src/bus/memory.js";
import { streamForSubject } from "../src/bus/subjects.js";
import type { EventBus } from "../src/types.js";
import { NATS_URL, logger, randomName, waitFor } from "./helpers.js";

const REAL = process.env.PARLEY_TEST_REAL === "1";
const SIGNALS = ["parley.realtime.typing.started", "parley.realtime.presence.changed"];

/** Ids a durable created now receives (it starts at the beginning of what the stream kept). */
async function replayIds(bus: EventBus, durable: string, expected: number): Promise<string[]> {
  const ids: string[] = [];
  const sub = await bus.consume({ durable, subjects: ["parley.chat.>"], handler: async (m) => void ids.push(m.id) });
  await waitFor(() => ids.length >= expected, 10_000, `${expected} replayed events`);
  await new Promise((r) => setTimeout(r, 100)); // nothing beyond what is expected arrives
  await sub.stop();
  return ids;
}

describe("in-process bus retention", () => {
  it("keeps at most maxEvents / maxBytes, newest first out last", async () => {
    const bus = createMemoryBus({ logger, limits: { maxAgeMs: 60_000, maxEvents: 100, maxBytes: 1_000_000 } });
    try {
      for (let i = 0; i < 1_000; i++) await bus.publish("parley.chat.message.created", new Uint8Array(10), `e-${i}`);
      const ids = await replayIds(bus, "late", 100);
      expect(ids).toHaveLength(100);
      expect(ids[0]).toBe("e-900");
      expect(ids.at(-1)).toBe("e-999");
    } finally {
      await bus.close();
    }
    const byBytes = createMemoryBus({ logger, limits: { maxAgeMs: 60_000, maxEvents: 100_000, maxBytes: 10_000 } });
    try {
      for (let i = 0; i < 100; i++) await byBytes.publish("parley.chat.message.created", new Uint8Array(1_000), `b-${i}`);
      const ids = await replayIds(byBytes, "late", 10);
      expect(ids).toHaveLength(10);
      expect(ids[0]).toBe("b-90");
    } finally {
      await byBytes.close();
    }
  });

  it("drops events older than maxAge, and a consumer that keeps up still gets every event", async () => {
    const bus = createMemoryBus({ logger, limits: { maxAgeMs: 200, maxEvents: 100_000, maxBytes: 1_000_000 } });
    try {
      const live: string[] = [];
      const sub = await bus.consume({ durable: "live", subjects: ["parley.chat.>"], handler: async (m) => void live.push(m.id) });
      await bus.publish("parley.chat.message.created", new Uint8Array(1), "old");
      await new Promise((r) => setTimeout(r, 300));
      await bus.publish("parley.chat.message.created", new Uint8Array(1), "new");
      await waitFor(() => live.length === 2, 5_000, "live consumer got both");
      await sub.stop();
      expect(await replayIds(bus, "late", 1)).toEqual(["new"]);
    } finally {
      await bus.close();
    }
  });
});

describe("typing and presence signals", () => {
  it("live in a short-lived stream, not the durable one", () => {
    for (const subject of SIGNALS) {
      const stream = streamForSubject(subject);
      expect(stream.name).not.toBe("PARLEY");
      expect(stream.maxAgeMs).toBeLessThanOrEqual(60_000);
    }
    expect(streamForSubject("parley.chat.message.created").name).toBe("PARLEY");
  });

  describe.skipIf(!REAL)("on JetStream", () => {
    const namespace = randomName("sig");
    let bus: EventBus | undefined;
    afterAll(async () => {
      await bus?.close();
      const nc = await connect({ servers: NATS_URL });
      const jsm = await nc.jetstreamManager();
      for await (const info of jsm.streams.list()) if (info.config.name.endsWith(`_${namespace}`)) await jsm.streams.delete(info.config.name);
      await nc.close();
    });

    it("are delivered but never stored in the 7-day stream", async () => {
      bus = await createJetStreamBus({ natsUrl: NATS_URL, namespace, logger });
      const got: string[] = [];
      await bus.consume({ durable: "signals", subjects: ["parley.realtime.>"], handler: async (m) => void got.push(m.subject) });
      for (const [i, subject] of SIGNALS.entries()) await bus.publish(subject, new Uint8Array([i]), `sig-${i}`);
      await bus.publish("parley.chat.message.created", new Uint8Array([9]), "chat-1");
      await waitFor(() => got.length === SIGNALS.length, 10_000, "signals delivered");

      const nc = await connect({ servers: NATS_URL });
      try {
        const jsm = await nc.jetstreamManager();
        const durable = await jsm.streams.info(`PARLEY_${namespace}`, { subjects_filter: ">" });
        expect(durable.state.messages).toBe(1);
        expect(Object.keys(durable.state.subjects ?? {})).toEqual([`${namespace}.parley.chat.message.created`]);
        expect(durable.config.subjects.some((s) => s.includes("realtime"))).toBe(false);
        const signals = await jsm.streams.info(`PARLEY_SIGNALS_${namespace}`);
        expect(signals.state.messages).toBe(SIGNALS.length);
        expect(signals.config.max_age).toBeLessThanOrEqual(60_000 * 1_000_000);
      } finally {
        await nc.close();
      }
    });
  });
});
