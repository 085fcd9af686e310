import { createHash } from "node:crypto";
import { Code, createClient } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-node";
import { AuthService } from "@parley/gen/parley/identity/v1/auth_pb";
import { UserService } from "@parley/gen/parley/identity/v1/user_service_pb";
import { bearer } from "@parley/platform/testing";
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emailVerificationTokens, refreshTokens, users } from "../src/store/schema.js";
import { foreignKeyToken, hmacWithPublicKeyToken, tamperedToken, unsignedToken } from "./forge.js";
import {
  createAccount,
  expectError,
  expectRejectedWithoutChanges,
  PASSWORD,
  snapshot,
  startHarness,
  subjectsSince,
  verificationTokenFor,
  type Harness,
} from "./harness.js";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

describe("Register and VerifyEmail", () => {
  it("creates an unverified account, mails a token through user.registered, and verifies once", async () => {
    const eventsBefore = h.events.length;
    const { user } = await h.anon.auth.register({ email: "Ada@Example.COM", username: "Ada.L", password: PASSWORD, displayName: "" });
    expect(user).toMatchObject({ email: "ada@example.com", username: "ada.l", displayName: "ada.l", emailVerified: false });

    const [row] = await h.db.select().from(users).where(eq(users.id, user!.id));
    expect(row!.passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);

    const token = await verificationTokenFor(h, "ada@example.com");
    expect(subjectsSince(h, eventsBefore)).toContain("parley.identity.user.registered");
    // Only the SHA-256 is stored.
    const stored = await h.db.select().from(emailVerificationTokens).where(eq(emailVerificationTokens.userId, user!.id));
    expect(stored.map((t) => t.tokenHash)).toEqual([createHash("sha256").update(token).digest("hex")]);

    await expectError(
      h.anon.auth.login({ login: "ada.l", password: PASSWORD }),
      Code.FailedPrecondition,
      "email not verified; check your inbox or resend the verification email",
    );

    const verified = await h.anon.auth.verifyEmail({ token });
    expect(verified.user).toMatchObject({ id: user!.id, emailVerified: true });
    await expectRejectedWithoutChanges(h, [[() => h.anon.auth.verifyEmail({ token }), Code.InvalidArgument, /already used/]]);

    // Email and username both log in, in any case.
    const byEmail = await h.anon.auth.login({ login: "ADA@example.com", password: PASSWORD });
    const byUsername = await h.anon.auth.login({ login: "Ada.L", password: PASSWORD });
    expect(byEmail.user?.id).toBe(user!.id);
    expect(byUsername.user?.email).toBe("ada@example.com");
    expect(byEmail.accessToken).not.toBe("");
    expect(byEmail.refreshExpiresAt!.seconds).toBeGreaterThan(byEmail.accessExpiresAt!.seconds);
  });

  it("rejects malformed, weak, oversized and duplicate registrations without writing anything", async () => {
    await h.anon.auth.register({ email: "dup@example.com", username: "dupe", password: PASSWORD, displayName: "Dupe" });
    const ok = { email: "fresh@example.com", username: "fresh", password: PASSWORD, displayName: "Fresh" };
    const register = (patch: Partial<typeof ok>) => () => h.anon.auth.register({ ...ok, ...patch });
    await expectRejectedWithoutChanges(h, [
      [register({ email: "" }), Code.InvalidArgument, "email is required"],
      [register({ email: "not-an-email" }), Code.InvalidArgument, "email is not a valid address"],
      [register({ email: "a@b" }), Code.InvalidArgument, "email is not a valid address"],
      [register({ email: "two words@example.com" }), Code.InvalidArgument, "email is not a valid address"],
      [register({ email: `${"a".repeat(60)}@${"b".repeat(190)}.com` }), Code.InvalidArgument, /at most 254/],
      [register({ username: "ab" }), Code.InvalidArgument, /3-32/],
      [register({ username: "a".repeat(33) }), Code.InvalidArgument, /3-32/],
      [register({ username: "1abc" }), Code.InvalidArgument, /start with a letter/],
      [register({ username: "bad-name" }), Code.InvalidArgument, /only letters/],
      [register({ username: "admin" }), Code.InvalidArgument, /reserved/],
      [register({ password: "Short1" }), Code.InvalidArgument, /at least 10/],
      [register({ password: `Aa1${"x".repeat(126)}` }), Code.InvalidArgument, /at most 128/],
      [register({ password: "abcdefghijkl" }), Code.InvalidArgument, /two kinds/],
      [register({ password: "12345678901234" }), Code.InvalidArgument, /two kinds/],
      [register({ username: "walter.white", password: "walter.white" }), Code.InvalidArgument, /not be your email or username/],
      [register({ email: "walter@example.com", password: "Walter@Example.com" }), Code.InvalidArgument, /not be your email/],
      [register({ displayName: "x".repeat(65) }), Code.InvalidArgument, /at most 64/],
      [register({ displayName: "bell\u0007" }), Code.InvalidArgument, /control characters/],
      [register({ displayName: "   " }), Code.InvalidArgument, /must not be empty/],
      [register({ username: "dupe" }), Code.AlreadyExists, "username is already taken"],
      [register({ username: "DUPE" }), Code.AlreadyExists, "username is already taken"],
    ]);
  });

  it("keeps one account when two registrations of one address race, and answers both alike", async () => {
    const attempts = await Promise.allSettled([
      h.anon.auth.register({ email: "race@example.com", username: "racer.one", password: PASSWORD, displayName: "" }),
      h.anon.auth.register({ email: "RACE@example.com", username: "racer.two", password: PASSWORD, displayName: "" }),
    ]);
    // The answer must not tell the loser that the address exists (see register.ts).
    expect(attempts.map((a) => a.status)).toEqual(["fulfilled", "fulfilled"]);
    expect(await h.db.select().from(users).where(sql`lower(${users.email}) = 'race@example.com'`)).toHaveLength(1);
  });

  it("expires tokens after 24 h and voids old ones on resend; resend answers the same for unknown addresses", async () => {
    await h.anon.auth.register({ email: "grace@example.com", username: "grace", password: PASSWORD, displayName: "Grace" });
    const first = await verificationTokenFor(h, "grace@example.com");

    const eventsBefore = h.events.length;
    await h.anon.auth.resendVerification({ email: "Grace@example.com" });
    const second = await verificationTokenFor(h, "grace@example.com", { after: eventsBefore });
    expect(subjectsSince(h, eventsBefore)).toEqual(["parley.identity.user.verification_requested"]);
    expect(second).not.toBe(first);

    // Age the live token past its 24 h lifetime.
    await h.db
      .update(emailVerificationTokens)
      .set({ expiresAt: sql`now() - interval '1 second'` })
      .where(eq(emailVerificationTokens.tokenHash, createHash("sha256").update(second).digest("hex")));

    await expectRejectedWithoutChanges(h, [
      [() => h.anon.auth.verifyEmail({ token: first }), Code.InvalidArgument, /invalid, expired or already used/],
      [() => h.anon.auth.verifyEmail({ token: second }), Code.InvalidArgument, /invalid, expired or already used/],
      [() => h.anon.auth.verifyEmail({ token: "A".repeat(43) }), Code.InvalidArgument, /invalid, expired or already used/],
      [() => h.anon.auth.verifyEmail({ token: "x".repeat(5000) }), Code.InvalidArgument],
      [() => h.anon.auth.verifyEmail({ token: "" }), Code.InvalidArgument, "token is required"],
      [() => h.anon.auth.resendVerification({ email: "nope" }), Code.InvalidArgument, "email is not a valid address"],
    ]);

    // Unknown and already-verified addresses: same empty answer, nothing written or sent.
    const before = await snapshot(h.db);
    const eventsBeforeUnknown = h.events.length;
    expect(await h.anon.auth.resendVerification({ email: "nobody@example.com" })).toMatchObject({});
    await h.anon.auth.resendVerification({ email: "ada@example.com" });
    expect(await snapshot(h.db)).toEqual(before);

    const third = await (async () => {
      const mark = h.events.length;
      await h.anon.auth.resendVerification({ email: "grace@example.com" });
      return verificationTokenFor(h, "grace@example.com", { after: mark });
    })();
    expect((await h.anon.auth.verifyEmail({ token: third })).user?.emailVerified).toBe(true);
    expect(subjectsSince(h, eventsBeforeUnknown).filter((s) => s.endsWith("verification_requested"))).toHaveLength(1);
  });
});

describe("Login", () => {
  it("answers wrong password and unknown login identically, and writes nothing", async () => {
    await createAccount(h, "linus");
    const wrong = await expectError(h.anon.auth.login({ login: "linus", password: "Wrong password 1" }), Code.Unauthenticated);
    const unknown = await expectError(h.anon.auth.login({ login: "nobody", password: PASSWORD }), Code.Unauthenticated);
    expect(wrong.rawMessage).toBe("wrong login or password");
    expect(unknown.rawMessage).toBe(wrong.rawMessage);
    await expectRejectedWithoutChanges(h, [
      [() => h.anon.auth.login({ login: "linus", password: "Wrong password 1" }), Code.Unauthenticated],
      [() => h.anon.auth.login({ login: "nobody@example.com", password: PASSWORD }), Code.Unauthenticated],
      [() => h.anon.auth.login({ login: "", password: PASSWORD }), Code.InvalidArgument, "login is required"],
      [() => h.anon.auth.login({ login: "linus", password: "" }), Code.InvalidArgument, "password is required"],
      [() => h.anon.auth.login({ login: "x".repeat(300), password: PASSWORD }), Code.InvalidArgument, /at most 254/],
      [() => h.anon.auth.login({ login: "linus", password: "p".repeat(129) }), Code.InvalidArgument, /at most 128/],
    ]);
  });
});

describe("Refresh and Logout", () => {
  it("rotates refresh tokens; reusing a used one revokes the family and its access tokens everywhere", async () => {
    const acct = await createAccount(h, "margaret");
    const other = await h.anon.auth.login({ login: "margaret", password: PASSWORD });

    const r2 = await h.anon.auth.refresh({ refreshToken: acct.refreshToken });
    expect(r2.refreshToken).not.toBe(acct.refreshToken);
    const r3 = await h.anon.auth.refresh({ refreshToken: r2.refreshToken });
    const rows = await h.db.select().from(refreshTokens).where(eq(refreshTokens.userId, acct.user.id));
    expect(new Set(rows.filter((r) => r.usedAt === null).map((r) => r.familyId)).size).toBe(2);

    const latestSession = h.clientsFor(r3.accessToken);
    expect((await latestSession.users.getMe({})).user?.id).toBe(acct.user.id);

    // A thief replays the first token.
    await expectError(h.anon.auth.refresh({ refreshToken: acct.refreshToken }), Code.Unauthenticated, "refresh token reuse detected; please log in again");
    await expectError(h.anon.auth.refresh({ refreshToken: r3.refreshToken }), Code.Unauthenticated, /revoked/);
    await expectError(latestSession.users.getMe({}), Code.Unauthenticated, "access token revoked");
    await expectError(acct.clients.users.getMe({}), Code.Unauthenticated, "access token revoked");

    // The user's other session is untouched.
    expect((await h.clientsFor(other.accessToken).users.getMe({})).user?.id).toBe(acct.user.id);
    expect((await h.anon.auth.refresh({ refreshToken: other.refreshToken })).accessToken).not.toBe("");
  });

  it("gives two concurrent refreshes with one token the same successor (the grace window), and rotates it once", async () => {
    const acct = await createAccount(h, "concurrent");
    const [a, b] = await Promise.all([
      h.anon.auth.refresh({ refreshToken: acct.refreshToken }),
      h.anon.auth.refresh({ refreshToken: acct.refreshToken }),
    ]);
    expect(b.refreshToken).toBe(a.refreshToken);
    const rows = await h.db.select().from(refreshTokens).where(eq(refreshTokens.userId, acct.user.id));
    expect(rows).toHaveLength(2);
    expect((await h.anon.auth.refresh({ refreshToken: a.refreshToken })).refreshToken).not.toBe(a.refreshToken);
  });

  it("rejects garbage, unknown and expired refresh tokens without changing anything", async () => {
    const acct = await createAccount(h, "barbara");
    await h.db
      .update(refreshTokens)
      .set({ expiresAt: sql`now() - interval '1 second'` })
      .where(eq(refreshTokens.userId, acct.user.id));
    await expectRejectedWithoutChanges(h, [
      [() => h.anon.auth.refresh({ refreshToken: acct.refreshToken }), Code.Unauthenticated, /invalid, expired or revoked/],
      [() => h.anon.auth.refresh({ refreshToken: "B".repeat(43) }), Code.Unauthenticated, /invalid, expired or revoked/],
      [() => h.anon.auth.refresh({ refreshToken: "not a token!" }), Code.Unauthenticated],
      [() => h.anon.auth.refresh({ refreshToken: "" }), Code.Unauthenticated],
    ]);
  });

  it("logout revokes the calling access token and the session immediately", async () => {
    const acct = await createAccount(h, "grace.h");
    const other = await h.anon.auth.login({ login: "grace.h", password: PASSWORD });
    await expectError(h.anon.auth.logout({ refreshToken: acct.refreshToken }), Code.Unauthenticated, /requires an access token|missing access token/);

    await acct.clients.auth.logout({ refreshToken: acct.refreshToken });
    await expectError(acct.clients.users.getMe({}), Code.Unauthenticated, "access token revoked");
    await expectError(h.anon.auth.refresh({ refreshToken: acct.refreshToken }), Code.Unauthenticated, /revoked/);
    expect((await h.clientsFor(other.accessToken).users.getMe({})).user?.username).toBe("grace.h");
    await expectError(h.clientsFor(other.accessToken).auth.logout({ refreshToken: "%%%" }), Code.InvalidArgument, /malformed/);
  });
});

describe("access token verification", () => {
  it("rejects forged, tampered, expired and garbage tokens", async () => {
    const acct = await createAccount(h, "alan");
    const { issuer: iss, audience: aud } = h.tp.deps.config.jwt;
    const jwk = h.tp.deps.signer!.jwks().keys[0]!;
    const kid = String(jwk.kid);
    const expired = await h.tp.mintAccessToken(acct.user.id, { ttlSec: -60 });
    const forged = [
      unsignedToken(acct.user.id, { iss, aud }),
      foreignKeyToken(acct.user.id, { iss, aud, kid }),
      hmacWithPublicKeyToken(acct.user.id, { iss, aud, kid, publicX: String(jwk.x) }),
      tamperedToken(acct.accessToken, "00000000-0000-4000-8000-000000000000"),
      "not.a.jwt",
    ];
    for (const token of forged) await expectError(h.clientsFor(token).users.getMe({}), Code.Unauthenticated, "invalid access token");
    await expectError(h.clientsFor(expired).users.getMe({}), Code.Unauthenticated, "access token expired");
    expect((await acct.clients.users.getMe({})).user?.id).toBe(acct.user.id);
  });

  it("publishes the verification keys at /.well-known/jwks.json", async () => {
    const res = await fetch(`${h.server.baseUrl}/.well-known/jwks.json`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { keys: Array<Record<string, unknown>> };
    expect(body.keys[0]).toMatchObject({ kty: "OKP", crv: "Ed25519" });
    expect(body.keys.some((k) => "d" in k)).toBe(false);
  });
});

describe("other wire protocols", () => {
  it("serves Login over gRPC and GetMe over gRPC-web", async () => {
    const acct = await createAccount(h, "ken");
    const login = await createClient(AuthService, h.server.grpc).login({ login: "ken", password: PASSWORD });
    expect(login.user?.id).toBe(acct.user.id);
    const grpcWeb = createGrpcWebTransport({ baseUrl: h.server.baseUrl, httpVersion: "1.1", interceptors: [bearer(login.accessToken)] });
    expect((await createClient(UserService, grpcWeb).getMe({})).user?.email).toBe("ken@example.com");
  });
});
