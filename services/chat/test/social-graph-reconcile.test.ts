/**
 * Reconcile: a projection left wrong by lost events (here corrupted on
 * purpose: a friendship missing, a block and a friendship that never existed)
 * is repaired by identity's periodic graph slices, and chat's behaviour over
 * HTTP follows. Slices are published the way identity's graph-slices.ts does.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SocialGraphSliceEvent_Kind, SocialGraphSliceEventSchema } from "@parley/gen/parley/identity/v1/events_pb";
import { waitFor } from "@parley/platform/testing";
import { blocks, friendships } from "../src/store/schema.js";
import { blockedEitherWay, friendsAmong } from "../src/store/social-graph.js";
import { startChat, type ChatHarness } from "./harness.js";
import { codeOf } from "./util.js";

let h: ChatHarness;
beforeAll(async () => {
  h = await startChat();
});
afterAll(async () => {
  await h?.close();
});

const pair = (x: string, y: string) => (x < y ? { first: x, second: y } : { first: y, second: x });

describe("social graph reconcile", () => {
  it("graph slices repair a corrupted projection", async () => {
    const [ann, ben, cat, dan] = [await h.user(), await h.user(), await h.user(), await h.user()];
    await h.befriend(ann, ben);
    await h.block(cat, dan);
    const db = h.platform.deps.database.db;
    // Lost events: the ann–ben friendship gone, a ghost block ann→cat and a ghost friendship cat–dan.
    await db.delete(friendships);
    await db.insert(blocks).values({ blockerId: ann.id, blockedId: cat.id });
    const ghost = pair(cat.id, dan.id);
    await db.insert(friendships).values({ userA: ghost.first, userB: ghost.second });
    expect(await codeOf(ann.conversations.createGroup({ title: "x", memberIds: [ben.id] }))).not.toBe("ok");

    // Identity's whole graph: ann–ben friends, cat blocks dan; one open slice per kind.
    const slice = (kind: SocialGraphSliceEvent_Kind, edges: { first: string; second: string }[]) =>
      toBinary(SocialGraphSliceEventSchema, create(SocialGraphSliceEventSchema, { kind, edges }));
    await h.platform.deps.bus.publish("parley.identity.graph.slice", slice(SocialGraphSliceEvent_Kind.FRIENDSHIP, [pair(ann.id, ben.id)]), randomUUID());
    await h.platform.deps.bus.publish("parley.identity.graph.slice", slice(SocialGraphSliceEvent_Kind.BLOCK, [{ first: cat.id, second: dan.id }]), randomUUID());

    await waitFor(async () => (await friendsAmong(db, ann.id, [ben.id])).has(ben.id) && !(await blockedEitherWay(db, ann.id, cat.id)), { timeoutMs: 10_000 });
    expect(await blockedEitherWay(db, cat.id, dan.id)).toBe(true);
    expect((await friendsAmong(db, cat.id, [dan.id])).size).toBe(0);
    // Chat acts on the repaired projection: ann may now put ben in a group.
    const group = await ann.conversations.createGroup({ title: "repaired", memberIds: [ben.id] });
    expect(group.conversation?.memberCount).toBe(2);
    expect(await codeOf(cat.conversations.openDirect({ userId: dan.id }))).not.toBe("ok");
  }, 60_000);
});
