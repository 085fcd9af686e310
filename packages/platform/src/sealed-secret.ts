/**
 * Secrets that must travel through the event stream (the verification token
 * identity mints and notification mails) go sealed: AES-256-GCM under
 * VERIFICATION_TOKEN_KEY, bound to a context string (e.g. the user id) as
 * associated data, so the 7-day stream never holds a usable secret and a
 * sealed value can't be replayed for another user.
 *
 * Layout: version (1) | key id (4, first bytes of SHA-256(key)) | iv (12) | tag (16) | ciphertext.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { ConfigError, type PlatformConfig } from "./config.js";

const VERSION = 1;
const KEY_ID_BYTES = 4;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + KEY_ID_BYTES + IV_BYTES + TAG_BYTES;

/** The key identity and notification share; refuses to start a service that needs it without one. */
export function verificationTokenKey(config: PlatformConfig): Uint8Array {
  if (config.verificationTokenKey) return config.verificationTokenKey;
  throw new ConfigError(
    "invalid configuration:\n  VERIFICATION_TOKEN_KEY: required in production by identity and notification (the same 32 random bytes, base64, in both)",
  );
}

export function sealSecret(key: Uint8Array, secret: string, context: string): Uint8Array {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(Buffer.from(context, "utf8"));
  const ciphertext = Buffer.concat([cipher.update(secret, "utf8"), cipher.final()]);
  return new Uint8Array(Buffer.concat([Buffer.of(VERSION), keyId(key), iv, cipher.getAuthTag(), ciphertext]));
}

/** Throws with a reason (never the secret) when the value is malformed, sealed with another key or for another context. */
export function openSecret(key: Uint8Array, sealed: Uint8Array, context: string): string {
  const buf = Buffer.from(sealed);
  if (buf.length <= HEADER_BYTES || buf[0] !== VERSION) throw new Error("sealed secret is malformed or of an unknown version");
  if (!buf.subarray(1, 1 + KEY_ID_BYTES).equals(keyId(key))) throw new Error("sealed secret was sealed with another key");
  const iv = buf.subarray(1 + KEY_ID_BYTES, 1 + KEY_ID_BYTES + IV_BYTES);
  const tag = buf.subarray(1 + KEY_ID_BYTES + IV_BYTES, HEADER_BYTES);
  const decipher = createDecipheriv("aes-256-gcm", key, iv);
  decipher.setAAD(Buffer.from(context, "utf8"));
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(buf.subarray(HEADER_BYTES)), decipher.final()]).toString("utf8");
  } catch {
    throw new Error("sealed secret failed authentication (tampered, or sealed for another context)");
  }
}

function keyId(key: Uint8Array): Buffer {
  return createHash("sha256").update(key).digest().subarray(0, KEY_ID_BYTES);
}
