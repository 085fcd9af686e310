/**
 * The upgrade answer: item 21 (never echoes the access-token subprotocol) and the versioned
 * protocol negotiation (src/handlers/subprotocol.ts), over real sockets and the real SDK.
 */
import { request } from "node:http";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fromBinary, fromJsonString } from "@bufbuild/protobuf";
import { ServerFrameSchema } from "@parley/gen/parley/realtime/v1/frames_pb";
import { RealtimeUpgradeRequiredError, type RealtimeError, type RealtimeState, type WebSocketConstructor } from "@parley/sdk";
import { NodeWebSocket } from "@parley/sdk/node";
import { AUTH_SUBPROTOCOL_PREFIX } from "@parley/sdk/realtime/codec";
import { waitFor } from "@parley/platform/testing";
import { negotiateSubprotocol } from "../src/handlers/subprotocol.js";
import { startEdgeHarness, type EdgeHarness } from "./harness.js";
import { rawSocket } from "./raw-socket.js";

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

describe("protocol version negotiation", () => {
  let h: EdgeHarness;
  let auth: string;
  let port: number;
  beforeAll(async () => {
    h = await startEdgeHarness();
    await h.startNode("edge-a");
    auth = AUTH_SUBPROTOCOL_PREFIX + (await h.account("ver")).accessToken;
    port = h.nodes[0]!.wsPort();
  }, 60_000);
  afterAll(async () => h?.close());

  it("answers the highest version it shares with the client, proto over json within it", async () => {
    expect(await upgrade(port, `parley.v2.proto, parley.v1.proto, ${auth}`)).toEqual({ status: 101, protocol: "parley.v1.proto" });
    expect(await upgrade(port, `${auth}, parley.v3.json, parley.v1.json`)).toEqual({ status: 101, protocol: "parley.v1.json" });
    expect(await upgrade(port, `parley.v1.json, parley.v1.proto, ${auth}`)).toEqual({ status: 101, protocol: "parley.v1.proto" });
    // The same rule with a version list this build does not have yet (a future edge speaking v1 and v2).
    expect(negotiateSubprotocol("parley.v1.proto, parley.v2.json, parley.v3.proto", [1, 2])).toMatchObject({ ok: true, selected: "parley.v2.json", version: 2, json: true });
    expect(negotiateSubprotocol("parley.v1.json", [2])).toMatchObject({ ok: false, selected: "parley.v1.json" });
  });

  it("still speaks the names SDKs sent before versioning (parley.v1.proto / parley.v1.json) as v1", async () => {
    for (const [name, binary] of [["parley.v1.proto", true], ["parley.v1.json", false]] as const) {
      const ws = new NodeWebSocket(h.wsUrl(h.nodes[0]!), [name, auth]);
      const first = await new Promise<{ data: Buffer; isBinary: boolean }>((resolve, reject) => {
        ws.once("message", (data: Buffer, isBinary: boolean) => resolve({ data, isBinary }));
        ws.once("close", (code: number, reason: Buffer) => reject(new Error(`${name}: closed ${code} ${reason.toString()}`)));
      });
      expect(ws.protocol).toBe(name);
      expect(first.isBinary).toBe(binary);
      const frame = binary ? fromBinary(ServerFrameSchema, first.data) : fromJsonString(ServerFrameSchema, first.data.toString());
      expect(frame.kind.case).toBe("welcome");
      ws.close();
    }
  });

  it("refuses a client offering only versions it does not speak (newer or retired) with 4426 and a reason to upgrade", async () => {
    for (const offer of [["parley.v2.proto"], ["parley.v0.json"], ["parley.v7.proto", "parley.v7.json"], ["parley.v1.cbor"]]) {
      const socket = rawSocket(h.wsUrl(h.nodes[0]!), [...offer, auth]);
      await socket.opened;
      const closed = await socket.closed;
      expect(closed.code, offer.join()).toBe(4426);
      expect(closed.reason).toBe(`upgrade the Parley SDK: this server speaks realtime protocol v1, not ${offer.join(", ")}`);
      expect(socket.frames).toEqual([]);
    }
  });

  it("the SDK reports a refused version as RealtimeUpgradeRequiredError and stops reconnecting", async () => {
    // An SDK from a future that dropped v1: the same client, offering v9 where it offers v1.
    let opened = 0;
    const FutureWebSocket = class extends NodeWebSocket {
      constructor(url: string, protocols?: string | string[]) {
        opened++;
        super(url, [protocols ?? []].flat().map((p) => p.replace(/^parley\.v1\./, "parley.v9.")));
      }
    } satisfies WebSocketConstructor;
    const account = await h.account("future");
    const errors: RealtimeError[] = [];
    const states: RealtimeState[] = [];
    const r = h.connect(account, { WebSocket: FutureWebSocket });
    r.client.on("error", (e) => errors.push(e));
    r.client.on("state", (s) => states.push(s));
    await waitFor(() => r.client.state === "closed", { timeoutMs: 10_000 });
    const error = errors[0];
    expect(error).toBeInstanceOf(RealtimeUpgradeRequiredError);
    expect(error).toMatchObject({ code: "upgrade_required", closeCode: 4426, offered: ["parley.v1.proto"] });
    expect(error?.message).toContain("upgrade @parley/sdk");
    expect((error as RealtimeUpgradeRequiredError).serverReason).toBe("upgrade the Parley SDK: this server speaks realtime protocol v1, not parley.v9.proto");
    // Retrying cannot help: no second socket, even after several backoff periods (harness backoff 50-500 ms).
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(opened).toBe(1);
    expect(states.at(-1)).toBe("closed");
    expect(r.welcomes).toEqual([]);
  });
});
