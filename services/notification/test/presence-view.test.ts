/**
 * The presence view answers "who is offline" for a message's members from
 * memory: one batched presence-store read per FRESH_FOR_MS for a group, not
 * one per member per message, with online/offline changes applied as the
 * edge publishes them. Real bus and presence store (Redis under PARLEY_TEST_REAL).
 */
import { randomUUID } from "node:crypto";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { PresenceEventSchema } from "@parley/gen/parley/realtime/v1/frames_pb";
import type { PresenceStore } from "@parley/platform";
import { createTestPlatform, waitFor, type TestPlatform } from "@parley/platform/testing";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { FRESH_FOR_MS, startPresenceView, type PresenceView } from "../src/events/presence-view.js";
import { REALTIME } from "../src/events/subjects.js";

let tp: TestPlatform;
let view: PresenceView | undefined;
let clockMs = 1_000_000;
const lookups: string[][] = [];

/** The platform's presence store, with every nodesOf call recorded. */
function countingPresence(store: PresenceStore): PresenceStore {
  return {
    heartbeat: (nodeId, userIds, ttlMs) => store.heartbeat(nodeId, userIds, ttlMs),
    remove: (nodeId, userId, lastSeenMs) => store.remove(nodeId, userId, lastSeenMs),
    info: (userIds) => store.info(userIds),
    nodesOf: (userIds) => {
      lookups.push([...userIds]);
      return store.nodesOf(userIds);
    },
  };
}

async function startView(): Promise<PresenceView> {
  view = await startPresenceView({ bus: tp.deps.bus, presence: countingPresence(tp.deps.presence) }, `view-test-${randomUUID().slice(0, 8)}`, () => clockMs);
  return view;
}

async function publishChange(userId: string, online: boolean): Promise<void> {
  const event = create(PresenceEventSchema, { userId, online, lastSeenAt: timestampFromMs(Date.now()), recipientIds: [] });
  await tp.deps.bus.publish(REALTIME.presenceChanged, toBinary(PresenceEventSchema, event), randomUUID());
}

beforeAll(async () => {
  tp = await createTestPlatform();
}, 60_000);

afterEach(async () => {
  await view?.stop();
  view = undefined;
  lookups.length = 0;
});

afterAll(async () => {
  await tp?.close();
});

describe("presence view", () => {
  it("reads a group's members once per freshness window, not once per message", async () => {
    const members = Array.from({ length: 50 }, () => randomUUID());
    const online = members.slice(0, 20);
    await tp.deps.presence.heartbeat("edge-a", online, 60_000);
    const presence = await startView();

    for (let message = 0; message < 100; message++) {
      expect(await presence.offlineOf(members)).toEqual(members.slice(20));
    }
    expect(lookups).toEqual([members]);

    clockMs += FRESH_FOR_MS + 1;
    expect(await presence.offlineOf(members)).toEqual(members.slice(20));
    expect(lookups).toHaveLength(2);
  });

  it("applies published changes at once, with no presence-store read", async () => {
    const [alice, bob] = [randomUUID(), randomUUID()];
    const presence = await startView();
    expect(await presence.offlineOf([alice, bob])).toEqual([alice, bob]);
    expect(lookups).toHaveLength(1);

    await publishChange(alice, true);
    await waitFor(async () => (await presence.offlineOf([alice, bob])).length === 1);
    expect(await presence.offlineOf([alice, bob])).toEqual([bob]);

    await publishChange(alice, false);
    await waitFor(async () => (await presence.offlineOf([alice])).length === 1);
    expect(lookups).toHaveLength(1);
  });

  it("turns the users of a node that died without a word offline once their entries expire", async () => {
    const carol = randomUUID();
    // The dead node's last heartbeat: its entries expire, and no offline event will ever come.
    await tp.deps.presence.heartbeat("edge-dead", [carol], 300);
    const presence = await startView();
    expect(await presence.offlineOf([carol])).toEqual([]);

    await new Promise((resolve) => setTimeout(resolve, 400));
    // Still online within the freshness window (no read), offline right after it.
    expect(await presence.offlineOf([carol])).toEqual([]);
    clockMs += FRESH_FOR_MS + 1;
    expect(await presence.offlineOf([carol])).toEqual([carol]);
  });
});
