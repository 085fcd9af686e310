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

export interface TokenVerifierOptions {
  config: PlatformConfig;
  revocations: RevocationStore;
  /** Verify against these keys (e.g. `signer.jwks()`); otherwise `config.jwt.jwksUrl`. */
  localPublicJwks?: JSONWebKeySet | undefined;
}

export function createTokenVerifier(opts: TokenVerifierOptions): TokenVerifier {
  const { config, revocations } = opts;
  let keys: JWTVerifyGetKey;
  if (opts.localPublicJwks) keys = createLocalJWKSet(opts.localPublicJwks);
  else if (config.jwt.jwksUrl) keys = createRemoteJWKSet(new URL(config.jwt.jwksUrl));
  else throw new Error("token verifier needs a key: a local signing key or JWKS_URL");

  return {
    async verify(token) {
      let claims: AccessClaims;
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
        claims = { userId: sub, sessionId: sid, jti, expiresAtMs: exp * 1000 };
      } catch (err) {
        if (err instanceof ConnectError) throw err;
        if (err instanceof errors.JWTExpired) throw unauthenticated("access token expired", err);
        // Identity's JWKS not reachable: the token may be fine, so don't tell the client to drop it.
        if (err instanceof errors.JWKSTimeout || !(err instanceof errors.JOSEError)) {
          throw new ConnectError("cannot verify access token right now", Code.Unavailable, undefined, undefined, err);
        }
        throw unauthenticated("invalid access token", err);
      }
      let revoked: boolean;
      try {
        revoked = await revocations.anyRevoked([revocationIds.token(claims.jti), revocationIds.session(claims.sessionId)]);
      } catch (err) {
        // Fail closed: a token we cannot check might be revoked.
        throw new ConnectError("cannot verify access token right now", Code.Unavailable, undefined, undefined, err);
      }
      if (revoked) throw unauthenticated("access token revoked");
      return claims;
    },
  };
}
