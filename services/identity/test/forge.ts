/**
 * Hand-made JWTs an attacker could send. Built with node:crypto rather than
 * jose, which identity doesn't depend on; the bytes on the wire are the same.
 */
import { createHmac, generateKeyPairSync, randomUUID, sign } from "node:crypto";

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

function claims(userId: string, opts: { iss: string; aud: string }) {
  const now = Math.floor(Date.now() / 1000);
  return { sub: userId, sid: randomUUID(), jti: randomUUID(), iss: opts.iss, aud: opts.aud, iat: now, exp: now + 600 };
}

/** `alg: none`, no signature. */
export function unsignedToken(userId: string, opts: { iss: string; aud: string }): string {
  return `${b64({ alg: "none", typ: "at+jwt" })}.${b64(claims(userId, opts))}.`;
}

/** Valid EdDSA JWT, right kid and claims, signed with a key that isn't ours. */
export function foreignKeyToken(userId: string, opts: { iss: string; aud: string; kid: string }): string {
  const { privateKey } = generateKeyPairSync("ed25519");
  const input = `${b64({ alg: "EdDSA", typ: "at+jwt", kid: opts.kid })}.${b64(claims(userId, opts))}`;
  return `${input}.${sign(null, Buffer.from(input), privateKey).toString("base64url")}`;
}

/** Algorithm confusion: HS256 keyed with our public key's bytes. */
export function hmacWithPublicKeyToken(userId: string, opts: { iss: string; aud: string; kid: string; publicX: string }): string {
  const input = `${b64({ alg: "HS256", typ: "at+jwt", kid: opts.kid })}.${b64(claims(userId, opts))}`;
  return `${input}.${createHmac("sha256", Buffer.from(opts.publicX, "base64url")).update(input).digest("base64url")}`;
}

/** A genuine token with its payload swapped for another user's id (signature no longer matches). */
export function tamperedToken(token: string, otherUserId: string): string {
  const [header, payload, signature] = token.split(".");
  const body = JSON.parse(Buffer.from(payload!, "base64url").toString("utf8")) as Record<string, unknown>;
  return `${header}.${b64({ ...body, sub: otherUserId })}.${signature}`;
}
