/**
 * Long-lived sockets and short-lived tokens: Reauthenticate keeps a socket past
 * its first token's expiry; a socket whose token ran out and was not replaced
 * is closed with 4401 once the grace period is over. Tokens here live 2 s and
 * the grace is shortened through the harness tuning.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "@parley/platform/testing";
import { AUTH_SUBPROTOCOL_PREFIX } from "@parley/sdk/realtime/codec";
import { rawSocket, type RawSocket } from "./raw-socket.js";
import { send, startEdgeHarness, synced, type EdgeHarness } from "./harness.js";

const GRACE_MS = 800;

/** `exp` of a JWT in ms (the tests' own tokens: no verification needed). */
function expiryMs(token: string): number {
  const payload = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()) as { exp: number };
  return payload.exp * 1000;
}

describe("reauthenticate and token expiry on open sockets", () => {
  let h: EdgeHarness;
  beforeAll(async () => {
    h = await startEdgeHarness({ tuning: { tokenGraceMs: GRACE_MS } });
    await h.startNode("edge-a");
  }, 60_000);
  afterAll(async () => h?.close());

  const errorsOf = (ws: RawSocket) => ws.frames.flatMap((f) => (f.kind.case === "error" ? [f.kind.value] : []));

  it("a fresh token for the same user keeps the socket alive past the old token's expiry", async () => {
    const [alice, bob] = [await h.account("alice"), await h.account("bob")];
    await h.befriend(alice, bob);
    const dm = await h.direct(alice, bob);
    const shortLived = await h.tp.mintAccessToken(bob.id, { ttlSec: 2 });
    const issued: string[] = [];
    // First the 2 s token; the client's reauth timer (halfway to expiry) then gets the long one.
    const rb = h.connect(bob, {
      getAccessToken: async () => {
        const token = issued.length === 0 ? shortLived : bob.accessToken;
        issued.push(token);
        return token;
      },
    });
    await synced(rb);
    await waitFor(() => issued.length >= 2, { timeoutMs: 3_000 });
    const deadline = expiryMs(shortLived) + GRACE_MS + 500;
    await new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())));
    expect(rb.errors).toEqual([]);
    expect(rb.client.state).toBe("open");
    expect(rb.welcomes).toHaveLength(1);
    await send(alice, dm.id, "still the same socket");
    await waitFor(() => rb.messages.length === 1);
    expect(rb.welcomes).toHaveLength(1);
  });

  it("refuses another user's token and a bad token, keeps the old one, and closes with 4401 after the grace", async () => {
    const [alice, eve] = [await h.account("alice"), await h.account("eve")];
    const shortLived = await h.tp.mintAccessToken(alice.id, { ttlSec: 2 });
    const ws = rawSocket(h.wsUrl(h.nodes[0]!), ["parley.v1.proto", AUTH_SUBPROTOCOL_PREFIX + shortLived]);
    await waitFor(() => ws.frames.some((f) => f.kind.case === "welcome"));
    ws.send({ kind: { case: "hello", value: { cursors: {} } } });
    await waitFor(() => ws.frames.some((f) => f.kind.case === "syncComplete"));
    ws.send({ kind: { case: "reauthenticate", value: { accessToken: eve.accessToken } } });
    ws.send({ kind: { case: "reauthenticate", value: { accessToken: "not.a.jwt" } } });
    await waitFor(() => errorsOf(ws).length === 2);
    // Each is verified on its own, so the answers may come in either order.
    expect(errorsOf(ws)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ code: "permission_denied", message: expect.stringMatching(/another user/) }),
        expect.objectContaining({ code: "unauthenticated", message: expect.stringMatching(/^reauthenticate: invalid access token/) }),
      ]),
    );
    const closed = await ws.closed;
    const closedAt = Date.now();
    expect(closed).toEqual({ code: 4401, reason: "access token expired" });
    expect(closedAt).toBeGreaterThanOrEqual(expiryMs(shortLived) + GRACE_MS);
    expect(errorsOf(ws).at(-1)).toMatchObject({ code: "unauthenticated", message: "access token expired" });
  }, 10_000);

  it("an SDK client whose token source has nothing fresher is closed with 4401 after the grace and stops", async () => {
    const carol = await h.account("carol");
    const shortLived = await h.tp.mintAccessToken(carol.id, { ttlSec: 2 });
    const rc = h.connect(carol, { getAccessToken: async () => shortLived });
    await synced(rc);
    let closedAt = 0;
    rc.client.on("state", (s) => {
      if (s === "closed") closedAt = Date.now();
    });
    await waitFor(() => closedAt > 0, { timeoutMs: 6_000 });
    expect(closedAt).toBeGreaterThanOrEqual(expiryMs(shortLived) + GRACE_MS);
    expect(rc.errors).toContainEqual({ code: "unauthenticated", message: "access token expired", closeCode: 4401 });
    // It did not retry with the token the server had just refused.
    expect(rc.welcomes).toHaveLength(1);
  }, 10_000);
});
