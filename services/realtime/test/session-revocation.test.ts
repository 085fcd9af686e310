/**
 * Pushed logout (audit item 5): identity's `session.revoked` event closes the
 * session's sockets on every edge node at once. The nodes here re-check tokens
 * only every 10 minutes, so nothing but the pushed event can close them within
 * the test's bounds; a socket of the same user's other session stays open, and
 * the revoked token can't open a new socket.
 */
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { AuthService } from "@parley/gen/parley/identity/v1/auth_pb";
import { bearer, waitFor } from "@parley/platform/testing";
import { AUTH_SUBPROTOCOL_PREFIX } from "@parley/sdk/realtime/codec";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RealtimeModule } from "../src/index.js";
import { PASSWORD, startEdgeHarness, type EdgeHarness } from "./harness.js";
import { rawSocket, type RawSocket } from "./raw-socket.js";

const RUNS = 5;
/** Far beyond the waits below: the periodic re-check can't be what closes the sockets. */
const NO_POLL = { tokenCheckMs: 600_000 };

interface TimedSocket {
  ws: RawSocket;
  close: { code: number; reason: string } | undefined;
  closedAtMs: number;
}

function open(h: EdgeHarness, node: RealtimeModule, token: string): TimedSocket {
  const ws = rawSocket(h.wsUrl(node), ["parley.v1.proto", AUTH_SUBPROTOCOL_PREFIX + token]);
  const s: TimedSocket = { ws, close: undefined, closedAtMs: 0 };
  void ws.closed.then((c) => {
    s.close = c;
    s.closedAtMs = Date.now();
  });
  return s;
}

async function welcomed(s: TimedSocket): Promise<void> {
  await waitFor(() => s.ws.frames.some((f) => f.kind.case === "welcome"));
  s.ws.send({ kind: { case: "hello", value: { cursors: {} } } });
  await waitFor(() => s.ws.frames.some((f) => f.kind.case === "syncComplete"));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

describe("session revocation pushed to every edge node", () => {
  let h: EdgeHarness;
  beforeAll(async () => {
    h = await startEdgeHarness();
    await h.startNode("edge-a", NO_POLL);
    await h.startNode("edge-b", NO_POLL);
  }, 60_000);
  afterAll(async () => h?.close());

  it("closes the session's sockets on both nodes with 4401 right after Logout, and refuses the token afterwards", async () => {
    const [a, b] = h.nodes as [RealtimeModule, RealtimeModule];
    const user = await h.account("leaver");
    const anon = createClient(AuthService, h.server.connect);
    const closeMs: { a: number[]; b: number[] } = { a: [], b: [] };

    for (let run = 0; run < RUNS; run++) {
      const session = await anon.login({ login: user.username, password: PASSWORD });
      const other = await anon.login({ login: user.username, password: PASSWORD });
      const onA = open(h, a, session.accessToken);
      const onB = open(h, b, session.accessToken);
      const otherOnA = open(h, a, other.accessToken);
      await Promise.all([welcomed(onA), welcomed(onB), welcomed(otherOnA)]);

      const auth = createClient(
        AuthService,
        createConnectTransport({ baseUrl: h.server.baseUrl, httpVersion: "1.1", interceptors: [bearer(session.accessToken)] }),
      );
      await auth.logout({ refreshToken: session.refreshToken });
      const loggedOutAt = Date.now();

      await waitFor(() => onA.close !== undefined && onB.close !== undefined, { timeoutMs: 5_000 });
      for (const s of [onA, onB]) {
        expect(s.close).toEqual({ code: 4401, reason: "session revoked: logged out" });
        expect(s.ws.frames.at(-1)).toMatchObject({ kind: { case: "error", value: { code: "unauthenticated", message: "session revoked: logged out" } } });
      }
      closeMs.a.push(Math.max(0, onA.closedAtMs - loggedOutAt));
      closeMs.b.push(Math.max(0, onB.closedAtMs - loggedOutAt));

      // The same user's other session is untouched.
      otherOnA.ws.send({ kind: { case: "ping", value: {} } });
      await waitFor(() => otherOnA.ws.frames.some((f) => f.kind.case === "pong"));
      expect(otherOnA.close).toBeUndefined();
      otherOnA.ws.close();

      // A new socket with the revoked token is refused on either node.
      for (const node of [a, b]) {
        const again = open(h, node, session.accessToken);
        await waitFor(() => again.close !== undefined);
        expect(again.close).toEqual({ code: 4401, reason: "access token revoked" });
        expect(again.ws.frames.some((f) => f.kind.case === "welcome")).toBe(false);
      }
    }
    console.info(
      `logout response → 4401 close, median of ${RUNS}: edge-a ${median(closeMs.a)} ms, edge-b ${median(closeMs.b)} ms ` +
        `(edge-a ${closeMs.a.join("/")}, edge-b ${closeMs.b.join("/")})`,
    );
  }, 90_000);

  it("closes the session's sockets on both nodes when refresh-token reuse ends the session", async () => {
    const [a, b] = h.nodes as [RealtimeModule, RealtimeModule];
    const user = await h.account("victim");
    const anon = createClient(AuthService, h.server.connect);
    const onA = open(h, a, user.accessToken);
    const onB = open(h, b, user.accessToken);
    await Promise.all([welcomed(onA), welcomed(onB)]);
    // Rotated twice: the first token's successor is used, so replaying it is reuse even within the grace window.
    const second = await anon.refresh({ refreshToken: user.refreshToken });
    await anon.refresh({ refreshToken: second.refreshToken });
    await expect(anon.refresh({ refreshToken: user.refreshToken })).rejects.toThrow(/reuse detected/);
    await waitFor(() => onA.close !== undefined && onB.close !== undefined, { timeoutMs: 5_000 });
    for (const s of [onA, onB]) expect(s.close).toEqual({ code: 4401, reason: "session revoked: refresh token reuse detected" });
  }, 30_000);
});
