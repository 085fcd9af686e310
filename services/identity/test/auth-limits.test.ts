/**
 * Limits on public auth calls (audit item 6): per client IP whatever token the
 * call carries, per target account for failed logins, per recipient address
 * for verification mail. The server trusts one proxy hop, so each call picks
 * its client IP with X-Forwarded-For, as an attacker with many IPs would.
 */
import { randomBytes } from "node:crypto";
import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { AuthService } from "@parley/gen/parley/identity/v1/auth_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PASSWORD, startHarness, subjectsSince, verificationTokenFor, type Harness } from "./harness.js";

let h: Harness;
beforeAll(async () => {
  // 0.3 of the real policies: auth burst 3 per IP, 3 failed logins per account, 1 mail per address at once.
  h = await startHarness({ rateLimitScale: 0.3, trustProxy: 1 });
});
afterAll(async () => {
  await h?.close();
});

const freshIp = () => `198.18.${randomBytes(1)[0]}.${randomBytes(1)[0]}`;

/** AuthService calling from `ip` (a fresh one per call when omitted), optionally with a bearer token. */
function authFrom(ip?: string, token?: string): Client<typeof AuthService> {
  const headers: Interceptor = (next) => (req) => {
    req.header.set("x-forwarded-for", ip ?? freshIp());
    if (token) req.header.set("authorization", `Bearer ${token}`);
    return next(req);
  };
  return createClient(AuthService, createConnectTransport({ baseUrl: h.server.baseUrl, httpVersion: "1.1", interceptors: [headers] }));
}

async function outcome(p: Promise<unknown>): Promise<Code | "ok"> {
  return p.then(
    () => "ok" as const,
    (e: unknown) => ConnectError.from(e).code,
  );
}

async function account(): Promise<{ username: string; email: string; accessToken: string }> {
  const username = `lim${randomBytes(4).toString("hex")}`;
  const email = `${username}@example.com`;
  await authFrom().register({ email, username, password: PASSWORD });
  await authFrom().verifyEmail({ token: await verificationTokenFor(h, email) });
  const { accessToken } = await authFrom().login({ login: username, password: PASSWORD });
  return { username, email, accessToken };
}

describe("public auth calls", () => {
  it("count per client IP even when they carry a bearer token", async () => {
    const { accessToken } = await account();
    const ip = freshIp();
    const anon = authFrom(ip);
    for (let i = 0; i < 3; i++) expect(await outcome(anon.login({ login: `nobody${i}x`, password: "Wrong password 1" }))).toBe(Code.Unauthenticated);
    expect(await outcome(anon.login({ login: "nobody9x", password: "Wrong password 1" }))).toBe(Code.ResourceExhausted);
    // A valid token (N accounts would give N buckets) does not buy more attempts from this IP.
    expect(await outcome(authFrom(ip, accessToken).login({ login: "nobody8x", password: "Wrong password 1" }))).toBe(Code.ResourceExhausted);
  }, 60_000);

  it("limit failed logins per target account across many IPs", async () => {
    const acc = await account();
    const wrong = () => outcome(authFrom().login({ login: acc.username, password: "Wrong password 1" }));
    for (let i = 0; i < 3; i++) expect(await wrong()).toBe(Code.Unauthenticated);
    expect(await wrong()).toBe(Code.ResourceExhausted);
    // Limited before the password is checked: the right one is not confirmed either, by username or email.
    expect(await outcome(authFrom().login({ login: acc.username, password: PASSWORD }))).toBe(Code.ResourceExhausted);
    const byEmail = await authFrom()
      .login({ login: acc.email.toUpperCase(), password: PASSWORD })
      .then(() => undefined, (e: unknown) => ConnectError.from(e));
    expect(byEmail?.code).toBe(Code.ResourceExhausted);
    expect(Number(byEmail?.metadata.get("retry-after"))).toBeGreaterThan(60);
    // Another account is untouched.
    const other = await account();
    expect(await outcome(authFrom().login({ login: other.username, password: PASSWORD }))).toBe("ok");
  }, 60_000);

  it("reset an account's failed logins on a successful one", async () => {
    const acc = await account();
    const wrong = () => outcome(authFrom().login({ login: acc.username, password: "Wrong password 1" }));
    for (let i = 0; i < 2; i++) expect(await wrong()).toBe(Code.Unauthenticated);
    expect(await outcome(authFrom().login({ login: acc.username, password: PASSWORD }))).toBe("ok");
    for (let i = 0; i < 3; i++) expect(await wrong()).toBe(Code.Unauthenticated);
    expect(await wrong()).toBe(Code.ResourceExhausted);
  }, 60_000);

  it("limit verification mail per recipient address, whoever asks", async () => {
    const username = `mail${randomBytes(4).toString("hex")}`;
    const email = `${username}@example.com`;
    const before = h.events.length;
    // Register mails the address once (the burst of one) ...
    expect(await outcome(authFrom().register({ email, username, password: PASSWORD }))).toBe("ok");
    // ... and resends for it from other IPs are refused, unknown or not.
    expect(await outcome(authFrom().resendVerification({ email }))).toBe(Code.ResourceExhausted);
    expect(await outcome(authFrom().resendVerification({ email: email.toUpperCase() }))).toBe(Code.ResourceExhausted);
    const unknown = `ghost${randomBytes(4).toString("hex")}@example.com`;
    expect(await outcome(authFrom().resendVerification({ email: unknown }))).toBe("ok");
    expect(await outcome(authFrom().resendVerification({ email: unknown }))).toBe(Code.ResourceExhausted);
    await verificationTokenFor(h, email, { after: before });
    const mails = subjectsSince(h, before).filter((s) => s === "parley.identity.user.registered" || s === "parley.identity.user.verification_requested");
    expect(mails).toHaveLength(1);
  }, 60_000);
});
