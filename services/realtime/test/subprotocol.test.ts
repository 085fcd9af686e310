/** Item 21 (edge part): the upgrade answer never echoes the access-token subprotocol. */
import { request } from "node:http";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AUTH_SUBPROTOCOL_PREFIX } from "@parley/sdk/realtime/codec";
import { startEdgeHarness, type EdgeHarness } from "./harness.js";

/** A raw HTTP upgrade; resolves with the status and the Sec-WebSocket-Protocol answer (undefined = absent). */
function upgrade(port: number, protocols: string): Promise<{ status: number; protocol: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: "127.0.0.1",
      port,
      path: "/ws",
      headers: {
        Connection: "Upgrade",
        Upgrade: "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": randomBytes(16).toString("base64"),
        "Sec-WebSocket-Protocol": protocols,
      },
    });
    req.on("upgrade", (res, socket) => {
      socket.destroy();
      const p = res.headers["sec-websocket-protocol"];
      resolve({ status: res.statusCode ?? 0, protocol: Array.isArray(p) ? p.join(",") : p });
    });
    req.on("response", (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, protocol: undefined });
    });
    req.on("error", reject);
    req.end();
  });
}

describe("subprotocol answer", () => {
  let h: EdgeHarness;
  beforeAll(async () => {
    h = await startEdgeHarness();
    await h.startNode("edge-a");
  }, 60_000);
  afterAll(async () => h?.close());

  it("selects only a Parley protocol and never echoes parley.auth.<jwt>", async () => {
    const alice = await h.account("alice");
    const auth = AUTH_SUBPROTOCOL_PREFIX + alice.accessToken;
    const port = h.nodes[0]!.wsPort();
    expect(await upgrade(port, auth)).toEqual({ status: 101, protocol: undefined });
    expect(await upgrade(port, `${auth}, something.else`)).toEqual({ status: 101, protocol: undefined });
    expect(await upgrade(port, `${auth}, parley.v1.proto`)).toEqual({ status: 101, protocol: "parley.v1.proto" });
    expect(await upgrade(port, `parley.v1.json, ${auth}`)).toEqual({ status: 101, protocol: "parley.v1.json" });
    expect(await upgrade(port, "parley.auth.not-a-jwt")).toEqual({ status: 101, protocol: undefined });
  });
});
