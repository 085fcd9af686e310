/** Mail settings (audit item 2): production must send verification mail or say plainly that it does not. */
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, openSecret, sealSecret, verificationTokenKey } from "../src/index.js";

const base = { DATA_DIR: "memory" };

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig({ ...base, ...env });
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe("mail settings", () => {
  it("production without SMTP_URL refuses to start unless EMAIL_VERIFICATION=off says so", () => {
    expect(configError({ NODE_ENV: "production" }).message).toMatch(/SMTP_URL: required in production.*EMAIL_VERIFICATION=off/s);
    const off = loadConfig({ ...base, NODE_ENV: "production", EMAIL_VERIFICATION: "off" });
    expect(off).toMatchObject({ emailVerification: false, devMailbox: false, smtpUrl: undefined });
    expect(loadConfig({ ...base, NODE_ENV: "production", SMTP_URL: "smtp://mail.example.com:587" }).emailVerification).toBe(true);
  });

  it("refuses the dev mailbox in production, and it is off unless asked for", () => {
    expect(configError({ NODE_ENV: "production", DEV_MAILBOX: "true", SMTP_URL: "smtp://mail.example.com:587" }).message).toMatch(
      /DEV_MAILBOX: refused when NODE_ENV=production/,
    );
    expect(loadConfig({ ...base, NODE_ENV: "development" }).devMailbox).toBe(false);
    expect(loadConfig({ ...base, NODE_ENV: "development", DEV_MAILBOX: "true" }).devMailbox).toBe(true);
  });

  it("requires VERIFICATION_TOKEN_KEY in production (32 bytes) and makes one up elsewhere", () => {
    const prod = loadConfig({ ...base, NODE_ENV: "production", SMTP_URL: "smtp://mail.example.com:587" });
    expect(() => verificationTokenKey(prod)).toThrow(/VERIFICATION_TOKEN_KEY: required in production/);
    expect(configError({ VERIFICATION_TOKEN_KEY: randomBytes(16).toString("base64") }).message).toMatch(/VERIFICATION_TOKEN_KEY: must be 32 bytes/);
    const key = randomBytes(32).toString("base64");
    const set = loadConfig({ ...base, NODE_ENV: "production", SMTP_URL: "smtp://mail.example.com:587", VERIFICATION_TOKEN_KEY: key });
    expect(Buffer.from(verificationTokenKey(set)).toString("base64")).toBe(key);
    expect(verificationTokenKey(loadConfig(base))).toHaveLength(32);
  });
});

describe("sealed secrets", () => {
  const key = new Uint8Array(randomBytes(32));

  it("open only with the same key and context, and never contain the secret", () => {
    const sealed = sealSecret(key, "the-token", "user-1");
    expect(Buffer.from(sealed).includes(Buffer.from("the-token"))).toBe(false);
    expect(openSecret(key, sealed, "user-1")).toBe("the-token");
    expect(() => openSecret(key, sealed, "user-2")).toThrow(/failed authentication/);
    expect(() => openSecret(new Uint8Array(randomBytes(32)), sealed, "user-1")).toThrow(/another key/);
    const tampered = Uint8Array.from(sealed);
    tampered[tampered.length - 1]! ^= 1;
    expect(() => openSecret(key, tampered, "user-1")).toThrow(/failed authentication/);
    expect(() => openSecret(key, new Uint8Array(5), "user-1")).toThrow(/malformed/);
  });
});
