/** Access tokens: what verifies, and every way a forged or stale token must fail. */
import { createHmac, randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { base64url, SignJWT, UnsecuredJWT } from "jose";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { loadConfig } from "../src/config.js";
import { createStores, type Stores } from "../src/stores/index.js";
import {
  createTokenSigner,
  createTokenVerifier,
  generateSigningKey,
  loadSigningKey,
  revocationIds,
  SIGNING_KEY_FILE,
  VerifiedTokenCache,
  type SigningKey,
} from "../src/tokens.js";
import type { TokenSigner, TokenVerifier } from "../src/types.js";
import { pino } from "pino";

const logger = pino({ level: "silent" });
const config = loadConfig({ DATA_DIR: "memory", JWT_ISSUER: "parley-test", JWT_AUDIENCE: "parley-test-api" });

let stores: Stores;
let key: SigningKey;
let signer: TokenSigner;
let verifier: TokenVerifier;

beforeAll(async () => {
  stores = await createStores({ logger });
  key = (await generateSigningKey()).key;
  signer = createTokenSigner({ key, config });
  verifier = createTokenVerifier({ config, revocations: stores.revocations, localPublicJwks: signer.jwks() });
});
afterAll(() => stores.close());

async function expectUnauthenticated(token: string, message: string): Promise<void> {
  const err = await verifier.verify(token).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConnectError);
  expect((err as ConnectError).code).toBe(Code.Unauthenticated);
  expect((err as ConnectError).rawMessage).toBe(message);
}

/** A token with our header and claims, signed by `privateKey` (lets tests vary one thing at a time). */
function forge(claims: Record<string, unknown>, privateKey = key.privateKey, kid = key.kid) {
  const now = Math.floor(Date.now() / 1000);
  const base = { sub: "u1", sid: "s1", jti: randomBytes(8).toString("hex"), iss: config.jwt.issuer, aud: config.jwt.audience, iat: now, exp: now + 60 };
  return new SignJWT({ ...base, ...claims }).setProtectedHeader({ alg: "EdDSA", kid, typ: "at+jwt" }).sign(privateKey);
}

describe("access tokens", () => {
  it("verifies a token it signed and returns its claims", async () => {
    const { token, jti, expiresAtMs } = await signer.signAccess({ userId: "user-1", sessionId: "session-1" });
    const claims = await verifier.verify(token);
    expect(claims).toEqual({ userId: "user-1", sessionId: "session-1", jti, expiresAtMs });
    expect(expiresAtMs).toBeGreaterThan(Date.now() + (config.jwt.accessTtlSec - 5) * 1000);
  });

  it("publishes only the public key, with kid = thumbprint", () => {
    const { keys } = signer.jwks();
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({ kty: "OKP", crv: "Ed25519", kid: key.kid, alg: "EdDSA", use: "sig" });
    expect(keys[0]).not.toHaveProperty("d");
  });

  it("rejects an expired token", async () => {
    const expired = createTokenSigner({ key, config: { ...config, jwt: { ...config.jwt, accessTtlSec: -120 } } });
    const { token } = await expired.signAccess({ userId: "u1", sessionId: "s1" });
    await expectUnauthenticated(token, "access token expired");
  });

  it("rejects a wrong issuer or audience", async () => {
    await expectUnauthenticated(await forge({ iss: "someone-else" }), "invalid access token");
    await expectUnauthenticated(await forge({ aud: "another-api" }), "invalid access token");
    // Sanity check of the forging helper itself: unchanged claims verify.
    await expect(verifier.verify(await forge({}))).resolves.toMatchObject({ userId: "u1", sessionId: "s1" });
  });

  it("rejects alg none", async () => {
    const token = new UnsecuredJWT({ sid: "s1", jti: "j1" })
      .setSubject("u1")
      .setIssuer(config.jwt.issuer)
      .setAudience(config.jwt.audience)
      .setExpirationTime("5m")
      .encode();
    await expectUnauthenticated(token, "invalid access token");
  });

  it("rejects HS256 signed with the public key bytes (algorithm confusion)", async () => {
    const publicJwk = signer.jwks().keys[0] as { x: string };
    const header = base64url.encode(JSON.stringify({ alg: "HS256", kid: key.kid, typ: "at+jwt" }));
    const now = Math.floor(Date.now() / 1000);
    const payload = base64url.encode(
      JSON.stringify({ sub: "u1", sid: "s1", jti: "j1", iss: config.jwt.issuer, aud: config.jwt.audience, iat: now, exp: now + 60 }),
    );
    for (const secret of [base64url.decode(publicJwk.x), Buffer.from(JSON.stringify(publicJwk))]) {
      const sig = base64url.encode(createHmac("sha256", secret).update(`${header}.${payload}`).digest());
      await expectUnauthenticated(`${header}.${payload}.${sig}`, "invalid access token");
    }
  });

  it("rejects a token signed by another Ed25519 key, with or without our kid", async () => {
    const other = (await generateSigningKey()).key;
    await expectUnauthenticated(await forge({}, other.privateKey, key.kid), "invalid access token");
    await expectUnauthenticated(await forge({}, other.privateKey, other.kid), "invalid access token");
  });

  it("rejects a token without a session id and a JWT of another type", async () => {
    await expectUnauthenticated(await forge({ sid: undefined }), "invalid access token");
    const idToken = await new SignJWT({ sid: "s1" })
      .setProtectedHeader({ alg: "EdDSA", kid: key.kid, typ: "JWT" })
      .setSubject("u1")
      .setJti("j1")
      .setIssuer(config.jwt.issuer)
      .setAudience(config.jwt.audience)
      .setExpirationTime("5m")
      .sign(key.privateKey);
    await expectUnauthenticated(idToken, "invalid access token");
  });

  it("rejects garbage", async () => {
    for (const junk of ["", "abc", "a.b.c", "eyJhbGciOiJFZERTQSJ9.e30."]) await expectUnauthenticated(junk, "invalid access token");
  });

  it("rejects a token whose jti was revoked", async () => {
    const { token, jti, expiresAtMs } = await signer.signAccess({ userId: "u1", sessionId: "s-jti" });
    await verifier.verify(token);
    await stores.revocations.revoke(revocationIds.token(jti), expiresAtMs);
    await expectUnauthenticated(token, "access token revoked");
  });

  it("rejects every token of a revoked session", async () => {
    const a = await signer.signAccess({ userId: "u1", sessionId: "s-revoked" });
    const b = await signer.signAccess({ userId: "u1", sessionId: "s-revoked" });
    const other = await signer.signAccess({ userId: "u1", sessionId: "s-other" });
    await stores.revocations.revoke(revocationIds.session("s-revoked"), Date.now() + 60_000);
    await expectUnauthenticated(a.token, "access token revoked");
    await expectUnauthenticated(b.token, "access token revoked");
    await expect(verifier.verify(other.token)).resolves.toMatchObject({ sessionId: "s-other" });
  });
});

describe("verified token cache", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("refuses a cached token once its jti or its session is revoked", async () => {
    const byJti = await signer.signAccess({ userId: "u1", sessionId: "s-cache-jti" });
    const bySession = await signer.signAccess({ userId: "u1", sessionId: "s-cache-session" });
    for (const t of [byJti, bySession]) {
      await verifier.verify(t.token);
      await verifier.verify(t.token);
    }
    await stores.revocations.revoke(revocationIds.token(byJti.jti), byJti.expiresAtMs);
    await stores.revocations.revoke(revocationIds.session("s-cache-session"), Date.now() + 60_000);
    await expectUnauthenticated(byJti.token, "access token revoked");
    await expectUnauthenticated(bySession.token, "access token revoked");
  });

  it("refuses a cached token once it has expired", async () => {
    const shortLived = createTokenSigner({ key, config: { ...config, jwt: { ...config.jwt, accessTtlSec: 30 } } });
    const { token, expiresAtMs } = await shortLived.signAccess({ userId: "u1", sessionId: "s-cache-exp" });
    const cache = new VerifiedTokenCache(10);
    const cached = createTokenVerifier({ config, revocations: stores.revocations, localPublicJwks: signer.jwks(), cache });
    await cached.verify(token);
    expect(cache.get(token, Date.now())).toMatchObject({ sessionId: "s-cache-exp" });
    // Only Date is faked: jose and the cache read the clock through it; timers and I/O run as usual.
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(expiresAtMs);
    const err = await cached.verify(token).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as ConnectError).code).toBe(Code.Unauthenticated);
    expect((err as ConnectError).rawMessage).toBe("access token expired");
  });

  it("keeps at most its bound, dropping the least recently used, and every token still verifies", async () => {
    const cache = new VerifiedTokenCache(3);
    const cached = createTokenVerifier({ config, revocations: stores.revocations, localPublicJwks: signer.jwks(), cache });
    const tokens = await Promise.all([1, 2, 3, 4, 5].map((i) => signer.signAccess({ userId: `u${i}`, sessionId: `s-bound-${i}` })));
    for (const t of tokens.slice(0, 3)) await cached.verify(t.token);
    // Used again: the first becomes the most recent, so the second is the next to go.
    await cached.verify(tokens[0]!.token);
    for (const t of tokens.slice(3)) await cached.verify(t.token);
    expect(cache.size).toBe(3);
    const now = Date.now();
    expect(tokens.map((t) => cache.get(t.token, now) !== undefined)).toEqual([true, false, false, true, true]);
    for (const [i, t] of tokens.entries()) await expect(cached.verify(t.token)).resolves.toMatchObject({ userId: `u${i + 1}` });
    expect(cache.size).toBe(3);
  });

  it("caches nothing for a token that fails verification", async () => {
    const cache = new VerifiedTokenCache(10);
    const cached = createTokenVerifier({ config, revocations: stores.revocations, localPublicJwks: signer.jwks(), cache });
    const other = (await generateSigningKey()).key;
    const forged = await forge({}, other.privateKey, key.kid);
    await expect(cached.verify(forged)).rejects.toThrow(ConnectError);
    expect(cache.size).toBe(0);
  });
});

describe("loadSigningKey", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "parley-keys-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("generates the key once, keeps it 0600 under DATA_DIR, and reuses it", async () => {
    const cfg = { ...config, dataDir: join(dir, "data") };
    const first = await loadSigningKey(cfg, logger);
    const file = join(cfg.dataDir, SIGNING_KEY_FILE);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const second = await loadSigningKey(cfg, logger);
    expect(second.kid).toBe(first.kid);
    expect(JSON.parse(await readFile(file, "utf8"))).toHaveProperty("d");
  });

  it("uses JWT_PRIVATE_JWK when set, and rejects a non-Ed25519 key clearly", async () => {
    const { privateJwk, key: generated } = await generateSigningKey();
    const fromEnv = await loadSigningKey({ ...config, jwt: { ...config.jwt, privateJwk: JSON.stringify(privateJwk) } });
    expect(fromEnv.kid).toBe(generated.kid);
    const { d: _d, ...publicOnly } = privateJwk;
    await expect(loadSigningKey({ ...config, jwt: { ...config.jwt, privateJwk: JSON.stringify(publicOnly) } })).rejects.toThrow(/JWT_PRIVATE_JWK: expected a private Ed25519 JWK/);
    await expect(loadSigningKey({ ...config, jwt: { ...config.jwt, privateJwk: "{nope" } })).rejects.toThrow(/JWT_PRIVATE_JWK: not valid JSON/);
  });

  it("keeps a generated key only in memory when DATA_DIR=memory", async () => {
    const a = await loadSigningKey(config);
    const b = await loadSigningKey(config);
    expect(a.kid).not.toBe(b.kid);
  });
});
