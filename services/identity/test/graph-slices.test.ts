/**
 * identity's reconcile pass: the whole social graph as key-ordered, bounded
 * slices on the bus, each saying which key range it covers, so a projection
 * can replace that range (see chat's social-graph-reconcile test).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SocialGraphSliceEvent_Kind, SocialGraphSliceEventSchema } from "@parley/gen/parley/identity/v1/events_pb";
import { decodeEvent } from "@parley/platform";
import { waitFor } from "@parley/platform/testing";
import { publishGraphSlices } from "../src/events/graph-slices.js";
import { createAccount, startHarness, type Harness } from "./harness.js";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

describe("social graph slices", () => {
  it("cover every edge once, in key order, in bounded slices with contiguous ranges", async () => {
    const [alice, bob, carol] = [await createAccount(h, "slice_alice"), await createAccount(h, "slice_bob"), await createAccount(h, "slice_carol")];
    await alice.clients.friends.blockUser({ userId: bob.user.id });
    await alice.clients.friends.blockUser({ userId: carol.user.id });
    await bob.clients.friends.blockUser({ userId: carol.user.id });
    const mark = h.events.length;

    expect(await publishGraphSlices(h.db, 2)).toBe(3); // friendships: one empty open slice; blocks: 2 + 1
    const slices = () => h.events.slice(mark).filter((m) => m.subject === "parley.identity.graph.slice").map((m) => decodeEvent(SocialGraphSliceEventSchema, m));
    await waitFor(() => slices().length === 3, { timeoutMs: 10_000 });
    const [friends, firstBlocks, lastBlocks] = slices();
    expect(friends).toMatchObject({ kind: SocialGraphSliceEvent_Kind.FRIENDSHIP, edges: [] });
    expect(friends!.after).toBeUndefined();
    expect(friends!.through).toBeUndefined();

    const expected = [
      [alice.user.id, bob.user.id],
      [alice.user.id, carol.user.id],
      [bob.user.id, carol.user.id],
    ]
      .map(([first, second]) => ({ first: first!, second: second! }))
      .sort((x, y) => (x.first + x.second < y.first + y.second ? -1 : 1));
    expect(firstBlocks!.kind).toBe(SocialGraphSliceEvent_Kind.BLOCK);
    expect(firstBlocks!.after).toBeUndefined();
    expect(firstBlocks!.edges.map(({ first, second }) => ({ first, second }))).toEqual(expected.slice(0, 2));
    expect({ first: firstBlocks!.through?.first, second: firstBlocks!.through?.second }).toEqual(expected[1]);
    expect({ first: lastBlocks!.after?.first, second: lastBlocks!.after?.second }).toEqual(expected[1]);
    expect(lastBlocks!.through).toBeUndefined();
    expect(lastBlocks!.edges.map(({ first, second }) => ({ first, second }))).toEqual(expected.slice(2));
  }, 60_000);
});
