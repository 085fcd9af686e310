/**
 * Access tokens: short-lived EdDSA (Ed25519) JWTs signed by identity and
 * verified by every service, either against the local public key (embedded
 * mode, identity itself) or identity's published JWKS (JWKS_URL).
 * The algorithm, issuer, audience and token type are pinned on verify; a
 * revoked `jti` (logout) or `sid` (refresh family) stops the token at once.
 */
import { randomUUID } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  calculateJwkThumbprint,
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
  SignJWT,
  type CryptoKey,
  type JSONWebKeySet,
  type JWK,
  type JWTVerifyGetKey,
} from "jose";
import type { Logger } from "pino";
import type { PlatformConfig } from "./config.js";
import type { AccessClaims, RevocationStore, TokenSigner, TokenVerifier } from "./types.js";

export const ACCESS_TOKEN_ALG = "EdDSA";
/** RFC 9068 type: keeps other JWTs signed with the same key from passing as access tokens. */
export const ACCESS_TOKEN_TYP = "at+jwt";
export const SIGNING_KEY_FILE = "jwt-signing-key.json";

/** Ids to pass to `RevocationStore.revoke`, matching what the verifier checks. */
export const revocationIds = {
  token: (jti: string) => `jti:${jti}`,
  session: (sessionId: string) => `sid:${sessionId}`,
};

export interface SigningKey {
  privateKey: CryptoKey;
  /** Public part with `kid`, `alg`, `use`: what goes into the JWKS. */
  publicJwk: JWK;
  kid: string;
}

/** Builds the signing key from a private Ed25519 JWK. */
export async function signingKeyFromJwk(jwk: JWK, source: string): Promise<SigningKey> {
  if (jwk.kty !== "OKP" || jwk.crv !== "Ed25519" || typeof jwk.d !== "string" || typeof jwk.x !== "string") {
    throw new Error(`${source}: expected a private Ed25519 JWK (kty "OKP", crv "Ed25519", with "d" and "x")`);
  }
  const key = await importJWK(jwk, ACCESS_TOKEN_ALG);
  if (key instanceof Uint8Array) throw new Error(`${source}: not an asymmetric key`);
  const publicBase: JWK = { kty: "OKP", crv: "Ed25519", x: jwk.x };
  const kid = await calculateJwkThumbprint(publicBase);
  return { privateKey: key, publicJwk: { ...publicBase, kid, alg: ACCESS_TOKEN_ALG, use: "sig" }, kid };
}

/** A fresh Ed25519 key, extractable so it can be persisted. */
export async function generateSigningKey(): Promise<{ key: SigningKey; privateJwk: JWK }> {
  const { privateKey } = await generateKeyPair(ACCESS_TOKEN_ALG, { crv: "Ed25519", extractable: true });
  const privateJwk = await exportJWK(privateKey);
  return { key: await signingKeyFromJwk(privateJwk, "generated key"), privateJwk };
}

function parseJwk(text: string, source: string): JWK {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`${source}: not valid JSON`, { cause: err });
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error(`${source}: not a JWK object`);
  return parsed as JWK;
}

/**
 * The key identity signs with: JWT_PRIVATE_JWK if set; otherwise one generated
 * on first start and kept in `<DATA_DIR>/jwt-signing-key.json` (0600) so tokens
 * survive restarts; with DATA_DIR=memory, a new key per process.
 */
export async function loadSigningKey(config: PlatformConfig, logger?: Logger): Promise<SigningKey> {
  if (config.jwt.privateJwk) {
    return signingKeyFromJwk(parseJwk(config.jwt.privateJwk, "JWT_PRIVATE_JWK"), "JWT_PRIVATE_JWK");
  }
  if (config.dataDir === "memory") {
    const { key } = await generateSigningKey();
    logger?.info({ kid: key.kid }, "generated an in-memory JWT signing key (tokens end with the process)");
    return key;
  }
  const file = join(config.dataDir, SIGNING_KEY_FILE);
  try {
    const key = await signingKeyFromJwk(parseJwk(await readFile(file, "utf8"), file), file);
    logger?.debug({ kid: key.kid, file }, "loaded JWT signing key");
    return key;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  await mkdir(config.dataDir, { recursive: true });
  const { key, privateJwk } = await generateSigningKey();
  try {
    // "wx": if another process created the file meanwhile, use theirs rather than overwrite it.
    await writeFile(file, JSON.stringify(privateJwk), { mode: 0o600, flag: "wx" });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return loadSigningKey(config, logger);
    throw new Error(`cannot write JWT signing key to ${file}`, { cause: err });
  }
  logger?.info({ kid: key.kid, file }, "generated JWT signing key");
  return key;
}

export function createTokenSigner(opts: { key: SigningKey; config: PlatformConfig }): TokenSigner {
  const { key, config } = opts;
  return {
    async signAccess({ userId, sessionId }) {
      const jti = randomUUID();
      const nowSec = Math.floor(Date.now() / 1000);
      const exp = nowSec + config.jwt.accessTtlSec;
      const token = await new SignJWT({ sid: sessionId })
        .setProtectedHeader({ alg: ACCESS_TOKEN_ALG, kid: key.kid, typ: ACCESS_TOKEN_TYP })
        .setSubject(userId)
        .setJti(jti)
        .setIssuer(config.jwt.issuer)
        .setAudience(config.jwt.audience)
        .setIssuedAt(nowSec)
        .setExpirationTime(exp)
        .sign(key.privateKey);
      return { token, jti, expiresAtMs: exp * 1000 };
    },
    jwks() {
      return { keys: [{ ...key.publicJwk }] };
    },
  };
}

function unauthenticated(reason: string, cause?: unknown): ConnectError {
  return new ConnectError(reason, Code.Unauthenticated, undefined, undefined, cause);
}

/** How many verified tokens a verifier remembers by default (a few MB of token strings and claims). */
export const DEFAULT_VERIFIED_TOKEN_CACHE_SIZE = 10_000;

/**
 * Tokens whose signature, issuer, audience and type were checked, with their
 * claims, least recently used evicted first. The key is the whole token
 * (signature included), so a token is only ever matched by itself. Entries
 * are only a shortcut past the signature check: expiry is checked on every
 * hit, revocation by the verifier on every call.
 */
export class VerifiedTokenCache {
  // A Map iterates in insertion order; re-inserting on a hit keeps the least recently used first.
  readonly #entries = new Map<string, AccessClaims>();

  constructor(readonly maxEntries: number = DEFAULT_VERIFIED_TOKEN_CACHE_SIZE) {
    if (!Number.isInteger(maxEntries) || maxEntries < 0) throw new Error(`verified token cache: maxEntries must be an integer >= 0, got ${maxEntries}`);
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The claims of `token` if it is cached and not expired at `nowMs`; an expired entry is dropped. */
  get(token: string, nowMs: number): AccessClaims | undefined {
    const claims = this.#entries.get(token);
    if (claims === undefined) return undefined;
    this.#entries.delete(token);
    // Same rule as jose's exp check (exp <= now in whole seconds = expired).
    if (claims.expiresAtMs <= nowMs) return undefined;
    this.#entries.set(token, claims);
    return claims;
  }

  set(token: string, claims: AccessClaims): void {
    if (this.maxEntries === 0) return;
    this.#entries.delete(token);
    this.#entries.set(token, claims);
    if (this.#entries.size > this.maxEntries) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
  }
}

export interface TokenVerifierOptions {
  config: PlatformConfig;
  revocations: RevocationStore;
  /** Verify against these keys (e.g. `signer.jwks()`); otherwise `config.jwt.jwksUrl`. */
  localPublicJwks?: JSONWebKeySet | undefined;
  /** Verified tokens to skip the signature check for (default: a new cache of DEFAULT_VERIFIED_TOKEN_CACHE_SIZE). */
  cache?: VerifiedTokenCache | undefined;
}

export function createTokenVerifier(opts: TokenVerifierOptions): TokenVerifier {
  const { config, revocations } = opts;
  const cache = opts.cache ?? new VerifiedTokenCache();
  let keys: JWTVerifyGetKey;
  if (opts.localPublicJwks) keys = createLocalJWKSet(opts.localPublicJwks);
  else if (config.jwt.jwksUrl) keys = createRemoteJWKSet(new URL(config.jwt.jwksUrl));
  else throw new Error("token verifier needs a key: a local signing key or JWKS_URL");

  /** The signature check (EdDSA) is the costly part of every RPC and socket auth; a token seen before skips it until its exp. */
  async function verifiedClaims(token: string): Promise<AccessClaims> {
    const cached = cache.get(token, Date.now());
    if (cached !== undefined) return cached;
    const claims = await verifySignedClaims(token);
    cache.set(token, claims);
    return claims;
  }

  async function verifySignedClaims(token: string): Promise<AccessClaims> {
    try {
      const { payload } = await jwtVerify(token, keys, {
        algorithms: [ACCESS_TOKEN_ALG],
        issuer: config.jwt.issuer,
        audience: config.jwt.audience,
        typ: ACCESS_TOKEN_TYP,
        requiredClaims: ["sub", "jti", "exp", "sid"],
      });
      const { sub, jti, exp, sid } = payload;
      if (!sub || !jti || exp === undefined || typeof sid !== "string" || sid === "") {
        throw unauthenticated("invalid access token");
      }
      return { userId: sub, sessionId: sid, jti, expiresAtMs: exp * 1000 };
    } catch (err) {
      if (err instanceof ConnectError) throw err;
      if (err instanceof errors.JWTExpired) throw unauthenticated("access token expired", err);
      // Identity's JWKS not reachable: the token may be fine, so don't tell the client to drop it.
      if (err instanceof errors.JWKSTimeout || !(err instanceof errors.JOSEError)) {
        throw new ConnectError("cannot verify access token right now", Code.Unavailable, undefined, undefined, err);
      }
      throw unauthenticated("invalid access token", err);
    }
  }

  return {
    async verify(token) {
      const claims = await verifiedClaims(token);
      // Checked on every call, cached or not: a logout takes effect at once.
      let revoked: boolean;
      try {
        revoked = await revocations.anyRevoked([revocationIds.token(claims.jti), revocationIds.session(claims.sessionId)]);
      } catch (err) {
        // Fail closed: a token we cannot check might be revoked.
        throw new ConnectError("cannot verify access token right now", Code.Unavailable, undefined, undefined, err);
      }
      if (revoked) throw unauthenticated("access token revoked");
      return { ...claims };
    },
  };
}
