/**
 * Sessions under concurrency and retries: Logout and reuse detection racing a
 * rotation must leave no usable token of the session (audit item 3), a
 * Refresh retried within the grace window gets the same successor (item 4),
 * and every revocation is announced as `session.revoked` (item 5).
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { SessionRevokedEventSchema, SessionRevokeReason } from "@parley/gen/parley/identity/v1/events_pb";
import type { RefreshResponse } from "@parley/gen/parley/identity/v1/auth_pb";
import { decodeEvent } from "@parley/platform";
import { waitFor } from "@parley/platform/testing";
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashToken } from "../src/domain/secrets.js";
import { refreshTokens } from "../src/store/schema.js";
import { createAccount, expectError, PASSWORD, startHarness, type Harness } from "./harness.js";

const ROUNDS = 40;

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ rateLimitScale: 1_000 });
});
afterAll(async () => {
  await h?.close();
});

function sessionIdOf(accessToken: string): string {
  const payload = JSON.parse(Buffer.from(accessToken.split(".")[1]!, "base64url").toString()) as { sid: string };
  return payload.sid;
}

/** Moves the rotation of `token` back past any grace window, as if the retry came much later. */
async function rotatedLongAgo(token: string): Promise<void> {
  await h.db
    .update(refreshTokens)
    .set({ usedAt: sql`now() - interval '1 hour'` })
    .where(eq(refreshTokens.tokenHash, hashToken(token)));
}

async function expectRefreshRefused(refreshToken: string): Promise<void> {
  await expectError(h.anon.auth.refresh({ refreshToken }), Code.Unauthenticated);
}

async function expectAccessRefused(accessToken: string): Promise<void> {
  await expectError(h.clientsFor(accessToken).users.getMe({}), Code.Unauthenticated, "access token revoked");
}

function revokedEvents(sessionId: string) {
  return h.events
    .filter((m) => m.subject === "parley.identity.session.revoked")
    .map((m) => decodeEvent(SessionRevokedEventSchema, m))
    .filter((e) => e.sessionId === sessionId);
}

describe("Logout and reuse detection racing a rotation", () => {
  it(`Logout concurrent with Refresh leaves no working token of the session (${ROUNDS} rounds)`, async () => {
    const acct = await createAccount(h, "racer");
    let refreshWon = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const login = await h.anon.auth.login({ login: acct.username, password: PASSWORD });
      const [logout, refresh] = await Promise.allSettled([
        h.clientsFor(login.accessToken).auth.logout({ refreshToken: login.refreshToken }),
        h.anon.auth.refresh({ refreshToken: login.refreshToken }),
      ]);
      expect(logout.status, `round ${round}: logout`).toBe("fulfilled");
      // Logout has returned: nothing of this session may work any more.
      await expectRefreshRefused(login.refreshToken);
      await expectAccessRefused(login.accessToken);
      if (refresh.status === "fulfilled") {
        refreshWon++;
        await expectRefreshRefused(refresh.value.refreshToken);
        await expectAccessRefused(refresh.value.accessToken);
      } else {
        expect(ConnectError.from(refresh.reason).code).toBe(Code.Unauthenticated);
      }
    }
    // Which call commits first varies with the backend and the machine; both orders must be safe.
    console.info(`logout/refresh race: refresh committed first in ${refreshWon} of ${ROUNDS} rounds`);
  }, 120_000);

  it(`reuse detection concurrent with a rotation of the current token revokes the whole session (${ROUNDS / 2} rounds)`, async () => {
    const acct = await createAccount(h, "reuser");
    for (let round = 0; round < ROUNDS / 2; round++) {
      const login = await h.anon.auth.login({ login: acct.username, password: PASSWORD });
      const current = await h.anon.auth.refresh({ refreshToken: login.refreshToken });
      await rotatedLongAgo(login.refreshToken);
      const [reuse, rotation] = await Promise.allSettled([
        h.anon.auth.refresh({ refreshToken: login.refreshToken }),
        h.anon.auth.refresh({ refreshToken: current.refreshToken }),
      ]);
      expect(reuse.status, `round ${round}: reuse`).toBe("rejected");
      await expectError(Promise.reject((reuse as PromiseRejectedResult).reason), Code.Unauthenticated, "refresh token reuse detected; please log in again");
      await expectRefreshRefused(current.refreshToken);
      await expectAccessRefused(current.accessToken);
      if (rotation.status === "fulfilled") {
        await expectRefreshRefused(rotation.value.refreshToken);
        await expectAccessRefused(rotation.value.accessToken);
      }
    }
  }, 120_000);
});

describe("Refresh grace window", () => {
  it("answers a retry within the grace window with the same successor; the session lives on", async () => {
    const acct = await createAccount(h, "retrier");
    const first = await h.anon.auth.refresh({ refreshToken: acct.refreshToken });
    // The response was lost; the client retries with the token it still holds.
    const retry = await h.anon.auth.refresh({ refreshToken: acct.refreshToken });
    expect(retry.refreshToken).toBe(first.refreshToken);
    expect(retry.refreshExpiresAt).toEqual(first.refreshExpiresAt);
    expect(sessionIdOf(retry.accessToken)).toBe(sessionIdOf(first.accessToken));
    expect((await h.clientsFor(retry.accessToken).users.getMe({})).user?.id).toBe(acct.user.id);
    expect((await h.clientsFor(first.accessToken).users.getMe({})).user?.id).toBe(acct.user.id);

    // Only hashes and a sealed successor are stored: no refresh token in plaintext.
    const rows = await h.db.select().from(refreshTokens).where(eq(refreshTokens.userId, acct.user.id));
    expect(rows).toHaveLength(2);
    const stored = JSON.stringify(rows);
    for (const token of [acct.refreshToken, first.refreshToken]) expect(stored).not.toContain(token);

    // The successor rotates normally; after that, the first token is reuse, grace or not.
    const next = await h.anon.auth.refresh({ refreshToken: first.refreshToken });
    await expectError(h.anon.auth.refresh({ refreshToken: acct.refreshToken }), Code.Unauthenticated, "refresh token reuse detected; please log in again");
    await expectRefreshRefused(next.refreshToken);
    await expectAccessRefused(next.accessToken);
  });

  it("treats the rotated token as reuse once the grace window is over: the session ends", async () => {
    const acct = await createAccount(h, "late.retrier");
    const first = await h.anon.auth.refresh({ refreshToken: acct.refreshToken });
    await rotatedLongAgo(acct.refreshToken);
    await expectError(h.anon.auth.refresh({ refreshToken: acct.refreshToken }), Code.Unauthenticated, "refresh token reuse detected; please log in again");
    await expectRefreshRefused(first.refreshToken);
    await expectAccessRefused(first.accessToken);
    await expectAccessRefused(acct.accessToken);
  });
});

describe("session.revoked events", () => {
  it("announces logout and reuse detection once each, with user, session and reason", async () => {
    const acct = await createAccount(h, "announced");
    const loggedOut = sessionIdOf(acct.accessToken);
    await acct.clients.auth.logout({ refreshToken: "" });

    const other = await h.anon.auth.login({ login: acct.username, password: PASSWORD });
    const reused = sessionIdOf(other.accessToken);
    const rotated: RefreshResponse = await h.anon.auth.refresh({ refreshToken: other.refreshToken });
    await rotatedLongAgo(other.refreshToken);
    await expectRefreshRefused(other.refreshToken);
    await expectRefreshRefused(other.refreshToken);
    await expectRefreshRefused(rotated.refreshToken);

    await waitFor(() => revokedEvents(loggedOut).length > 0 && revokedEvents(reused).length > 0);
    expect(revokedEvents(loggedOut)).toEqual([expect.objectContaining({ userId: acct.user.id, sessionId: loggedOut, reason: SessionRevokeReason.LOGOUT })]);
    expect(revokedEvents(reused)).toEqual([expect.objectContaining({ userId: acct.user.id, sessionId: reused, reason: SessionRevokeReason.REUSE_DETECTED })]);
  });
});
