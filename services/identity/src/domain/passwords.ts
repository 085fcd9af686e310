/**
 * argon2id with the OWASP baseline (19 MiB, 2 passes, 1 lane). The async API
 * runs on libuv's thread pool so a login never blocks the event loop.
 */
import { hash, verify, type Algorithm } from "@node-rs/argon2";
import { randomBytes } from "node:crypto";

// Algorithm.Argon2id is an ambient const enum, which verbatimModuleSyntax forbids reading: 2 is its value.
const ARGON2ID = 2 as Algorithm;
const PARAMS = { algorithm: ARGON2ID, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

export function hashPassword(password: string): Promise<string> {
  return hash(password, PARAMS);
}

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password);
  } catch {
    // A corrupt stored hash is a failed login, not a 500 that tells the caller the account exists.
    return false;
  }
}

let dummyHash: Promise<string> | undefined;

/**
 * Login checks a password against this when the account doesn't exist, so
 * "no such user" takes as long as "wrong password" and can't be told apart.
 */
export function dummyPasswordHash(): Promise<string> {
  dummyHash ??= hashPassword(randomBytes(24).toString("base64url"));
  return dummyHash;
}
