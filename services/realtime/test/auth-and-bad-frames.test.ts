import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "@parley/platform/testing";
import { AUTH_SUBPROTOCOL_PREFIX } from "@parley/sdk/realtime/codec";
import { rawSocket, type RawSocket } from "./raw-socket.js";
import { send, startEdgeHarness, synced, type EdgeHarness } from "./harness.js";

describe("tokens on sockets", () => {
  let h: EdgeHarness;
  beforeAll(async () => {
    h = await startEdgeHarness();
    await h.startNode("edge-a");
  }, 60_000);
  afterAll(async () => h?.close());

  const open = (protocols: string[]) => rawSocket(h.wsUrl(h.nodes[0]!), protocols);

  it("closes with 4401 and a reason for a missing, malformed, expired or revoked token", async () => {
    const expired = await h.tp.mintAccessToken("3f1c7a8e-0000-4000-8000-000000000001", { ttlSec: 1 });
    await new Promise((r) => setTimeout(r, 2_100));
    await h.deps.revocations.revoke("sid:revoked-session", Date.now() + 60_000);
    const revoked = await h.tp.mintAccessToken("3f1c7a8e-0000-4000-8000-000000000002", { sessionId: "revoked-session" });
    const cases: Array<[string[], RegExp]> = [
      [["parley.v1.proto"], /missing access token/],
      [["parley.v1.proto", `${AUTH_SUBPROTOCOL_PREFIX}not.a.jwt`], /invalid access token/],
      [["parley.v1.proto", AUTH_SUBPROTOCOL_PREFIX + expired], /access token expired/],
      [["parley.v1.proto", AUTH_SUBPROTOCOL_PREFIX + revoked], /access token revoked/],
    ];
    for (const [protocols, reason] of cases) {
      const ws = open(protocols);
      const closed = await ws.closed;
      expect(closed.code).toBe(4401);
      expect(closed.reason).toMatch(reason);
      expect(ws.frames.map((f) => f.kind.case)).toEqual(["error"]);
    }
  }, 20_000);

  it("closes an open socket with 4401 once its session is logged out", async () => {
    const alice = await h.account("alice");
    const rt = h.connect(alice);
    await synced(rt);
    await alice.auth.logout({ refreshToken: alice.refreshToken });
    await waitFor(() => rt.client.state === "closed", { timeoutMs: 5_000 });
    // Closed by the pushed session.revoked event, or by the periodic re-check if that came first (tokenCheckMs is 100 ms here).
    expect(rt.errors).toContainEqual({ code: "unauthenticated", message: expect.stringMatching(/^(session revoked: logged out|access token revoked)$/), closeCode: 4401 });
  });

  it("the periodic re-check closes only the socket whose session was revoked, also without a revocation event", async () => {
    // Revoked straight in the store (no session.revoked event): only the batched re-check can find it,
    // and the batch it falls in also holds sockets that must stay open.
    const sockets = await Promise.all(
      ["0003", "0004", "0005"].map(async (n) => {
        const token = await h.tp.mintAccessToken(`3f1c7a8e-0000-4000-8000-00000000${n}`, { sessionId: `recheck-${n}` });
        const ws = open(["parley.v1.proto", AUTH_SUBPROTOCOL_PREFIX + token]);
        await waitFor(() => ws.frames.some((f) => f.kind.case === "welcome"));
        ws.send({ kind: { case: "hello", value: { cursors: {} } } });
        await waitFor(() => ws.frames.some((f) => f.kind.case === "syncComplete"));
        let closed = false;
        void ws.closed.then(() => (closed = true));
        return { ws, isClosed: () => closed };
      }),
    );
    await h.deps.revocations.revoke("sid:recheck-0004", Date.now() + 60_000);
    expect(await sockets[1]!.ws.closed).toEqual({ code: 4401, reason: "access token revoked" });
    // Several more re-check rounds (tokenCheckMs is 100 ms here): the others are left alone.
    await new Promise((r) => setTimeout(r, 500));
    expect([sockets[0]!.isClosed(), sockets[2]!.isClosed()]).toEqual([false, false]);
    for (const s of sockets) s.ws.close();
  });
});

describe("bad frames", () => {
  let h: EdgeHarness;
  beforeAll(async () => {
    h = await startEdgeHarness();
    await h.startNode("edge-a");
  }, 60_000);
  afterAll(async () => h?.close());

  async function helloed(token: string): Promise<RawSocket> {
    const ws = rawSocket(h.wsUrl(h.nodes[0]!), ["parley.v1.proto", AUTH_SUBPROTOCOL_PREFIX + token]);
    await waitFor(() => ws.frames.some((f) => f.kind.case === "welcome"));
    ws.send({ kind: { case: "hello", value: { cursors: {} } } });
    await waitFor(() => ws.frames.some((f) => f.kind.case === "syncComplete"));
    return ws;
  }
  const errorsOf = (ws: RawSocket) => ws.frames.flatMap((f) => (f.kind.case === "error" ? [f.kind.value] : []));

  it("answers garbage, unknown kinds, text on the binary protocol and never-sent acks with invalid_argument, closes oversized frames, and keeps serving others", async () => {
    const [alice, bob, mallory] = [await h.account("alice"), await h.account("bob"), await h.account("mallory")];
    await h.befriend(alice, bob);
    const dm = await h.direct(alice, bob);
    const bobRt = h.connect(bob);
    await synced(bobRt);

    const bad = await helloed(mallory.accessToken);
    bad.sendBytes(Uint8Array.from([0xff, 0xff, 0xff, 0xff]));
    bad.sendBytes(Uint8Array.from([0x48, 0x01])); // field 9: no such kind
    bad.sendBytes(JSON.stringify({ hello: { cursors: {} } }));
    bad.send({ kind: { case: "ack", value: { deliveryIds: [987_654n] } } });
    await waitFor(() => errorsOf(bad).length === 4);
    expect(errorsOf(bad).map((e) => e.code)).toEqual(Array(4).fill("invalid_argument"));
    expect(errorsOf(bad).map((e) => e.message)).toEqual([
      expect.stringMatching(/not a valid/),
      expect.stringMatching(/no known kind/),
      expect.stringMatching(/text frame on parley.v1.proto/),
      expect.stringMatching(/never sent/),
    ]);

    const huge = await helloed(mallory.accessToken);
    huge.sendBytes(new Uint8Array(100 * 1024));
    expect(await huge.closed).toEqual({ code: 1009, reason: `frame of ${100 * 1024} bytes exceeds 65536` });

    await send(alice, dm.id, "still here");
    await waitFor(() => bobRt.messages.some((m) => m.text === "still here"));
    bad.close();
  });

  it("closes a socket after too many invalid frames", async () => {
    const mallory = await h.account("mallory");
    const ws = await helloed(mallory.accessToken);
    for (let i = 0; i < 25; i++) ws.sendBytes(Uint8Array.from([0xff]));
    expect(await ws.closed).toEqual({ code: 4400, reason: "too many invalid frames" });
  });

  it("speaks protobuf JSON on parley.v1.json", async () => {
    const [alice, bob] = [await h.account("alice"), await h.account("bob")];
    await h.befriend(alice, bob);
    const dm = await h.direct(alice, bob);
    const bobRt = h.connect(bob, { protocol: "json" });
    await synced(bobRt);
    await send(alice, dm.id, "as json");
    await waitFor(() => bobRt.messages.length === 1);
    expect(bobRt.messages[0]!.text).toBe("as json");
    expect(bobRt.errors).toEqual([]);
  });
});
