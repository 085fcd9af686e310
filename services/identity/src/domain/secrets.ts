/** Opaque bearer secrets (refresh and verification tokens): random, stored only as SHA-256. */
import { createHash, randomBytes } from "node:crypto";

export function newOpaqueToken(): string {
  return randomBytes(32).toString("base64url");
}

/**
 * SHA-256 is enough here (no argon2): the tokens carry 256 random bits, so
 * there is nothing to brute-force, and lookups must be by exact hash.
 */
export function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/** Tokens we issue are 43 base64url characters; anything far off is not one of ours. */
export function looksLikeOpaqueToken(token: string): boolean {
  return /^[A-Za-z0-9_-]{20,128}$/.test(token);
}
