/**
 * Item 1, edge side: what one socket can make the edge hold is bounded before
 * any decoding. uWS buffers an incomplete frame or fragmented message up to its
 * hard limit for as long as the client stalls; that limit is now twice the
 * 64 KiB frame limit (it was 1 MiB per socket). Decoded frames are bounded too
 * (delivery ids per Ack).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "@parley/platform/testing";
import { NodeWebSocket } from "@parley/sdk/node";
import { AUTH_SUBPROTOCOL_PREFIX } from "@parley/sdk/realtime/codec";
import { rawSocket } from "./raw-socket.js";
import { startEdgeHarness, type EdgeHarness } from "./harness.js";

describe("frame bounds", () => {
  let h: EdgeHarness;
  beforeAll(async () => {
    h = await startEdgeHarness();
    await h.startNode("edge-a");
  }, 60_000);
  afterAll(async () => h?.close());

  it("drops a socket whose unfinished fragmented message passes 128 KiB, instead of holding up to 1 MiB of it", async () => {
    const mallory = await h.account("mallory");
    const sockets = Array.from({ length: 5 }, () => {
      const ws = new NodeWebSocket(h.wsUrl(h.nodes[0]!), ["parley.v1.proto", AUTH_SUBPROTOCOL_PREFIX + mallory.accessToken]);
      const closed = new Promise<number>((resolve) => ws.on("close", (code: number) => resolve(code)));
      ws.on("error", () => undefined);
      return { ws, closed };
    });
    await Promise.all(sockets.map(({ ws }) => new Promise((resolve) => ws.on("open", resolve))));
    // 900 KiB in 30 KiB fragments, never finished: under the old 1 MiB limit uWS held all of it.
    const fragment = new Uint8Array(30 * 1024);
    for (const { ws } of sockets) for (let i = 0; i < 30; i++) ws.send(fragment, { binary: i === 0, fin: false });
    const codes = await Promise.race([
      Promise.all(sockets.map((s) => s.closed)),
      new Promise<string>((resolve) => setTimeout(() => resolve("still open after 10 s"), 10_000)),
    ]);
    expect(codes).toEqual(Array(5).fill(1006));
  });

  it("refuses an Ack with more delivery ids than a socket can have unacked", async () => {
    const mallory = await h.account("mallory");
    const ws = rawSocket(h.wsUrl(h.nodes[0]!), ["parley.v1.proto", AUTH_SUBPROTOCOL_PREFIX + mallory.accessToken]);
    await waitFor(() => ws.frames.some((f) => f.kind.case === "welcome"));
    // 20,000 one-byte ids: 20 KB on the wire, 20,000 bigints decoded.
    ws.send({ kind: { case: "ack", value: { deliveryIds: Array.from({ length: 20_000 }, () => 1n) } } });
    await waitFor(() => ws.frames.some((f) => f.kind.case === "error"));
    const error = ws.frames.find((f) => f.kind.case === "error")!.kind.value as { code: string; message: string };
    expect(error).toMatchObject({ code: "invalid_argument", message: "ack: at most 8192 delivery ids per frame" });
    ws.close();
  });
});
