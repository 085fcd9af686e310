/**
 * One event the broker refuses for good (over NATS' max_payload, or the
 * in-process bus's equivalent) must not stop chat's outbox: the events before
 * and after it go out exactly once, it is parked, and /readyz and /metrics
 * say so over real HTTP. The oversized row is written straight into the
 * outbox, as a row from before the per-event cap would be.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isNotNull } from "drizzle-orm";
import { newEventId } from "@parley/platform";
import { waitFor } from "@parley/platform/testing";
import { outbox } from "../src/store/schema.js";
import { startChat, type ChatHarness } from "./harness.js";

let h: ChatHarness;
beforeAll(async () => {
  h = await startChat();
});
afterAll(async () => {
  await h?.close();
});

const SUBJECT = "parley.chat.message.created";

/** Probes and metrics are served on the admin port. */
async function get(path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`${h.server.adminUrl}${path}`);
  return { status: res.status, body: await res.text() };
}

function deliveries(id: string): number {
  return h.events.filter((e) => e.id === id).length;
}

describe("outbox poison row", () => {
  it("is parked while the rows before and after it are delivered exactly once; metric and /readyz report it", async () => {
    const db = h.platform.deps.database.db;
    const good = (n: number) => ({ id: newEventId(), subject: SUBJECT, payload: new Uint8Array([n]) });
    const before = [good(1), good(2), good(3)];
    const poison = { id: newEventId(), subject: SUBJECT, payload: new Uint8Array(3 * 512 * 1024) };
    const after = [good(4), good(5), good(6)];
    // One transaction: the relay sees all seven at once, poison in the middle of its batch.
    await db.transaction(async (tx) => {
      await tx.insert(outbox).values([...before, poison, ...after]);
    });

    await waitFor(() => [...before, ...after].every((r) => deliveries(r.id) === 1), { timeoutMs: 15_000 });
    await waitFor(async () => (await db.select({ id: outbox.id }).from(outbox).where(isNotNull(outbox.parkedAt))).length === 1, {
      timeoutMs: 15_000,
    });
    const [parked] = await db.select().from(outbox);
    expect(parked?.id).toBe(poison.id);
    expect(parked?.lastError).toMatch(/max_payload|MAX_PAYLOAD/i);
    expect(deliveries(poison.id)).toBe(0);

    // A later event still flows, and nothing before it went out twice.
    const sentinel = good(7);
    await db.insert(outbox).values(sentinel);
    await waitFor(() => deliveries(sentinel.id) === 1, { timeoutMs: 15_000 });
    for (const r of [...before, ...after]) expect(deliveries(r.id), r.id).toBe(1);

    const ready = await get("/readyz");
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toMatchObject({ ready: true, degraded: { "module:chat": expect.stringMatching(/1 parked outbox event/) } });
    const metrics = await get("/metrics");
    expect(metrics.body).toMatch(/outbox_parked_events\{schema="chat"\} 1/);
    expect(metrics.body).toMatch(/outbox_parked_events_total\{schema="chat"\} 1/);
  }, 60_000);
});
