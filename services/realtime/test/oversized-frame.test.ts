/**
 * Item 15a: a frame over uWS's hard limit (1 MiB) drops that connection;
 * no other socket may be affected by it (a stale handle of the dropped socket
 * used after close would act on whichever socket uWS put in its memory).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "@parley/platform/testing";
import { AUTH_SUBPROTOCOL_PREFIX } from "@parley/sdk/realtime/codec";
import { rawSocket } from "./raw-socket.js";
import { startEdgeHarness, type EdgeHarness } from "./harness.js";

describe("a frame over the hard limit", () => {
  let h: EdgeHarness;
  beforeAll(async () => {
    h = await startEdgeHarness();
    await h.startNode("edge-a");
  }, 60_000);
  afterAll(async () => h?.close());

  it("drops only its own socket: 50 times, the socket opened right after gets Welcome", async () => {
    const [mallory, alice] = [await h.account("mallory"), await h.account("alice")];
    const protocols = (token: string) => ["parley.v1.proto", AUTH_SUBPROTOCOL_PREFIX + token];
    const outcomes: string[] = [];
    for (let i = 0; i < 50; i++) {
      const bad = rawSocket(h.wsUrl(h.nodes[0]!), protocols(mallory.accessToken));
      await waitFor(() => bad.frames.some((f) => f.kind.case === "welcome"));
      // Odd rounds leave the socket mid-work (Hello sent, catch-up and its writes in flight).
      if (i % 2 === 1) bad.send({ kind: { case: "hello", value: { cursors: {} } } });
      bad.sendBytes(new Uint8Array(1024 * 1024 + 1));
      const good = rawSocket(h.wsUrl(h.nodes[0]!), protocols(alice.accessToken));
      const outcome = await Promise.race([
        waitFor(() => good.frames.some((f) => f.kind.case === "welcome"), { timeoutMs: 5_000 }).then(() => "welcome"),
        good.closed.then((c) => `closed ${c.code} before Welcome`),
      ]);
      outcomes.push(outcome);
      expect((await bad.closed).code).toBe(1006);
      good.close();
      await good.closed;
    }
    expect(outcomes).toEqual(Array(50).fill("welcome"));
    await waitFor(() => h.nodes[0]!.socketCount() === 0);
  }, 120_000);
});
