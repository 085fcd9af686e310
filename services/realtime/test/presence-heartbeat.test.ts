/**
 * The periodic presence heartbeat lists this node's users, then writes them to
 * the shared store. A user whose last socket closes while that write is in
 * flight is removed first and re-added by the write: without a second remove
 * they look online to everyone for a whole TTL (and their "offline" could be
 * skipped). The heartbeat's write is held here until the socket has closed.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "@parley/platform/testing";
import { startEdgeHarness, synced, type EdgeHarness } from "./harness.js";

describe("presence heartbeat racing a close", () => {
  let h: EdgeHarness;
  beforeAll(async () => {
    h = await startEdgeHarness({ tuning: { presenceHeartbeatMs: 200 } });
    await h.startNode("edge-a");
  }, 60_000);
  afterAll(async () => h?.close());

  it("a user whose last socket closed during a heartbeat is offline afterwards, and friends are told", async () => {
    const [a, b] = [await h.account("a"), await h.account("b")];
    await h.befriend(a, b);
    const rb = h.connect(b);
    await synced(rb);
    const ra = h.connect(a);
    await synced(ra);
    await waitFor(() => rb.presence.some((p) => p.userId === a.id && p.online));
    const seenOnlineAt = rb.presence.findIndex((p) => p.userId === a.id && p.online);

    // Hold the next heartbeat that lists a until a's socket is gone.
    const presence = h.deps.presence;
    const heartbeat = presence.heartbeat.bind(presence);
    let held: (() => void) | undefined;
    let heartbeatDone = false;
    presence.heartbeat = async (nodeId, userIds, ttlMs) => {
      if (held === undefined && userIds.includes(a.id)) {
        await new Promise<void>((release) => (held = release));
        presence.heartbeat = heartbeat;
        await heartbeat(nodeId, userIds, ttlMs);
        heartbeatDone = true;
        return;
      }
      return heartbeat(nodeId, userIds, ttlMs);
    };
    await waitFor(() => held !== undefined);
    ra.close();
    await waitFor(() => h.nodes[0]!.socketCount() === 1);
    held!();
    await waitFor(() => heartbeatDone);

    await waitFor(async () => ((await presence.nodesOf([a.id])).get(a.id) ?? []).length === 0, { timeoutMs: 3_000 });
    await waitFor(() => rb.presence.slice(seenOnlineAt + 1).some((p) => p.userId === a.id && !p.online), { timeoutMs: 5_000 });
    expect((await presence.nodesOf([a.id])).get(a.id)).toBeUndefined();
  });
});
