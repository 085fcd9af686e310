/** The EventBus contract, run against the in-process bus and JetStream. */
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { createMetricsRegistry } from "../src/bootstrap.js";
import { registerBusMetrics } from "../src/bus/metrics.js";
import type { BusMessage, EventBus } from "../src/types.js";
import { busBackends, deferred, delay, randomName, waitFor } from "./helpers.js";

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (m: BusMessage): string => new TextDecoder().decode(m.data);

describe.each(busBackends())("EventBus ($name)", (backend) => {
  const open: EventBus[] = [];
  let scope = "";
  beforeEach(() => {
    scope = randomName("t");
  });
  /** Another "process" on the same broker and namespace. */
  async function bus(): Promise<EventBus> {
    const b = await backend.open(scope);
    open.push(b);
    return b;
  }
  afterEach(async () => {
    await Promise.all(open.splice(0).map((b) => b.close()));
  });
  afterAll(() => backend.cleanup());

  it("delivers with the caller's subject, the msgId as id, in order, and events published before the first consume", async () => {
    const b = await bus();
    await b.publish("parley.chat.message.created", bytes("early"), "e-0");
    const got: BusMessage[] = [];
    await b.consume({ durable: randomName("d"), subjects: ["parley.chat.>"], handler: async (m) => void got.push(m) });
    for (let i = 1; i <= 5; i++) await b.publish("parley.chat.message.created", bytes(`m${i}`), `e-${i}`);
    await b.publish("parley.identity.user.created", bytes("other"), "e-x");
    await waitFor(() => got.length >= 6);
    await delay(100);
    expect(got.map(text)).toEqual(["early", "m1", "m2", "m3", "m4", "m5"]);
    expect(got[0]).toMatchObject({ id: "e-0", subject: "parley.chat.message.created", deliveryCount: 1 });
  });

  it("drops a duplicate msgId", async () => {
    const b = await bus();
    const got: string[] = [];
    await b.consume({ durable: randomName("d"), subjects: ["parley.chat.>"], handler: async (m) => void got.push(m.id) });
    await b.publish("parley.chat.x.y", bytes("1"), "same");
    await b.publish("parley.chat.x.y", bytes("1"), "same");
    await b.publish("parley.chat.x.y", bytes("2"), "other");
    await waitFor(() => got.length >= 2);
    await delay(200);
    expect(got).toEqual(["same", "other"]);
  });

  it("rejects subjects no stream stores", async () => {
    const b = await bus();
    await expect(b.publish("elsewhere.x", bytes(""), "id")).rejects.toThrow(/no stream/);
  });

  it("redelivers a failed event with growing delays and stops after maxDeliver", async () => {
    const b = await bus();
    const attempts: { count: number; at: number }[] = [];
    const done: string[] = [];
    await b.consume({
      durable: randomName("d"),
      subjects: ["parley.notification.>"],
      maxDeliver: 3,
      handler: async (m) => {
        if (m.id === "ok") return void done.push(m.id);
        attempts.push({ count: m.deliveryCount, at: Date.now() });
        throw new Error("handler failure (expected)");
      },
    });
    await b.publish("parley.notification.n.created", bytes("bad"), "bad");
    await b.publish("parley.notification.n.created", bytes("ok"), "ok");
    await waitFor(() => attempts.length >= 3 && done.length === 1);
    await delay(1_500);
    expect(attempts.map((a) => a.count)).toEqual([1, 2, 3]);
    // nak delay = 200 ms * 2^(n-1): a hot loop would redeliver at once.
    expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(150);
    expect(attempts[2]!.at - attempts[1]!.at).toBeGreaterThanOrEqual(300);
  });

  it("dead-letters an event after maxDeliver (with a metric); replay reaches only that consumer, once, with the original id", async () => {
    const b = await bus();
    const failing = randomName("dlqa");
    const other = randomName("dlqb");
    let healthy = false;
    const handled: BusMessage[] = [];
    const seenByOther: string[] = [];
    await b.consume({
      durable: failing,
      subjects: ["parley.identity.>"],
      maxDeliver: 2,
      handler: async (m) => {
        if (!healthy) throw new Error("redis unavailable (injected)");
        handled.push(m);
      },
    });
    await b.consume({ durable: other, subjects: ["parley.identity.>"], handler: async (m) => void seenByOther.push(m.id) });
    await b.publish("parley.identity.block.created", bytes("block"), "dl-1");
    await waitFor(async () => (await b.deadLetters.list({ consumer: failing })).length === 1, 10_000, "the dead letter");
    const [letter] = await b.deadLetters.list({ consumer: failing });
    expect(letter).toMatchObject({ consumer: failing, eventId: "dl-1", subject: "parley.identity.block.created", deliveries: 2 });
    expect(letter!.error).toMatch(/redis unavailable/);
    expect(new TextDecoder().decode(letter!.data)).toBe("block");
    expect(b.deadLetters.counts().get(failing)).toBe(1);
    const registry = createMetricsRegistry();
    registerBusMetrics(registry, b);
    expect(await registry.getSingleMetricAsString("bus_dead_lettered_events_total")).toContain(`bus_dead_lettered_events_total{consumer="${failing}"} 1`);

    healthy = true;
    const replayed = await b.deadLetters.replay(letter!.seq);
    expect(replayed.eventId).toBe("dl-1");
    await waitFor(() => handled.length === 1, 10_000, "the replayed event");
    expect(handled[0]).toMatchObject({ id: "dl-1", subject: "parley.identity.block.created" });
    expect(await b.deadLetters.list({ consumer: failing })).toEqual([]);
    // A sentinel after the replay: once it arrived, the replay had its chance to reach the other consumer.
    await b.publish("parley.identity.user.created", bytes("later"), "dl-2");
    await waitFor(() => seenByOther.includes("dl-2") && handled.length === 2, 10_000, "the sentinel");
    expect(seenByOther).toEqual(["dl-1", "dl-2"]);
    expect(handled.map((m) => m.id)).toEqual(["dl-1", "dl-2"]);
    await expect(b.deadLetters.replay(letter!.seq)).rejects.toThrow(/not found/);
  });

  it("drops a dead letter on request", async () => {
    const b = await bus();
    const failing = randomName("dlqc");
    await b.consume({ durable: failing, subjects: ["parley.chat.>"], maxDeliver: 1, handler: async () => Promise.reject(new Error("always")) });
    await b.publish("parley.chat.message.created", bytes("x"), "dl-drop");
    await waitFor(async () => (await b.deadLetters.list({ consumer: failing })).length === 1, 10_000, "the dead letter");
    const [letter] = await b.deadLetters.list({ consumer: failing });
    await b.deadLetters.drop(letter!.seq);
    expect(await b.deadLetters.list({ consumer: failing })).toEqual([]);
  });

  it("redelivers an event whose consumer never acked (crash) to another replica", async () => {
    const b1 = await bus();
    const b2 = await bus();
    const durable = randomName("d");
    const hang = deferred();
    const seenByFirst: BusMessage[] = [];
    await b1.consume({ durable, subjects: ["parley.chat.>"], ackWaitMs: 1_000, handler: async (m) => { seenByFirst.push(m); await hang.promise; } });
    await b1.publish("parley.chat.message.created", bytes("x"), "crash-1");
    await waitFor(() => seenByFirst.length === 1);
    const seenBySecond: BusMessage[] = [];
    await b2.consume({ durable, subjects: ["parley.chat.>"], ackWaitMs: 1_000, handler: async (m) => void seenBySecond.push(m) });
    await waitFor(() => seenBySecond.length === 1, 10_000, "redelivery after ack wait");
    expect(seenBySecond[0]!.id).toBe("crash-1");
    // JetStream may first redeliver into the hung replica's prefetch buffer, so 2 or more.
    expect(seenBySecond[0]!.deliveryCount).toBeGreaterThanOrEqual(2);
    hang.resolve();
  });

  it("load-balances one durable across two consumers: each event to exactly one", async () => {
    const b1 = await bus();
    const b2 = await bus();
    const durable = randomName("d");
    const got = new Map<string, string[]>();
    const handler = (who: string) => async (m: BusMessage) => {
      got.set(m.id, [...(got.get(m.id) ?? []), who]);
      await delay(10);
    };
    await b1.consume({ durable, subjects: ["parley.chat.>"], handler: handler("a") });
    await b2.consume({ durable, subjects: ["parley.chat.>"], handler: handler("b") });
    const n = 40;
    await Promise.all(Array.from({ length: n }, (_, i) => b1.publish("parley.chat.message.created", bytes(String(i)), `lb-${i}`)));
    await waitFor(() => got.size === n);
    await delay(300);
    expect([...got.values()].every((who) => who.length === 1)).toBe(true);
    const byA = [...got.values()].filter((w) => w[0] === "a").length;
    expect(byA).toBeGreaterThan(0);
    expect(byA).toBeLessThan(n);
  });

  it("bounds in-flight handlers by concurrency", async () => {
    const b = await bus();
    let running = 0;
    let peak = 0;
    let done = 0;
    await b.consume({
      durable: randomName("d"),
      subjects: ["parley.chat.>"],
      concurrency: 3,
      handler: async () => {
        peak = Math.max(peak, ++running);
        await delay(30);
        running--;
        done++;
      },
    });
    await Promise.all(Array.from({ length: 12 }, (_, i) => b.publish("parley.chat.a.b", bytes(""), `c-${i}`)));
    await waitFor(() => done === 12);
    expect(peak).toBeGreaterThan(1);
    expect(peak).toBeLessThanOrEqual(3);
  });

  it("consumeOwn: every subscriber gets every event published after it subscribed", async () => {
    const b1 = await bus();
    const b2 = await bus();
    await b1.publish("parley.realtime.edge.node1.deliver", bytes("before"), "own-0");
    const got1: string[] = [];
    const got2: string[] = [];
    await b1.consumeOwn({ name: "edge-node1", subjects: ["parley.realtime.edge.node1.>"], handler: async (m) => void got1.push(m.id) });
    await b2.consumeOwn({ name: "edge-node1", subjects: ["parley.realtime.edge.node1.>"], handler: async (m) => void got2.push(m.id) });
    for (let i = 1; i <= 5; i++) await b1.publish("parley.realtime.edge.node1.deliver", bytes(""), `own-${i}`);
    await b1.publish("parley.realtime.edge.node2.deliver", bytes(""), "own-other-node");
    await waitFor(() => got1.length >= 5 && got2.length >= 5, 10_000, `own deliveries (${got1.length}, ${got2.length})`);
    await delay(200);
    const want = ["own-1", "own-2", "own-3", "own-4", "own-5"];
    expect(got1).toEqual(want);
    expect(got2).toEqual(want);
  });

  it("a stopped durable resumes where it left off", async () => {
    const b = await bus();
    const durable = randomName("d");
    const got: string[] = [];
    const sub = await b.consume({ durable, subjects: ["parley.chat.>"], handler: async (m) => void got.push(m.id) });
    await b.publish("parley.chat.a.b", bytes(""), "r-1");
    await waitFor(() => got.length === 1);
    await sub.stop();
    await b.publish("parley.chat.a.b", bytes(""), "r-2");
    await b.consume({ durable, subjects: ["parley.chat.>"], handler: async (m) => void got.push(m.id) });
    await waitFor(() => got.length >= 2);
    await delay(100);
    expect(got).toEqual(["r-1", "r-2"]);
    await b.ping();
  });
});
