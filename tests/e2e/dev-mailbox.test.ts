/**
 * The dev mailbox exists only in embedded development (audit item 2): what
 * `make dev` starts has it, a production start never does, and /config.json
 * tells the web client which.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { createParleyClient } from "@parley/sdk";
import { ConfigError } from "@parley/platform";
import { startSmtpSink } from "@parley/platform/testing-smtp";
import { describe, expect, it } from "vitest";
import { startParley } from "./support/parley.js";

interface WebConfig {
  devMailbox?: boolean;
  emailVerification?: boolean;
}

async function webConfig(apiUrl: string): Promise<WebConfig> {
  return (await (await fetch(`${apiUrl}/config.json`)).json()) as WebConfig;
}

async function devMailboxAnswer(apiUrl: string): Promise<string> {
  const client = createParleyClient({ baseUrl: apiUrl });
  return client.devMailbox.listDevMail({ to: "someone@example.com" }).then(
    () => "ok",
    (e: unknown) => Code[ConnectError.from(e).code],
  );
}

describe("embedded dev mailbox", () => {
  it("development without SMTP: the mailbox is served and /config.json says so", async () => {
    const parley = await startParley();
    try {
      expect(await webConfig(parley.apiUrl)).toMatchObject({ devMailbox: true, emailVerification: true });
      expect(await devMailboxAnswer(parley.apiUrl)).toBe("ok");
    } finally {
      await parley.close();
    }
  });

  it("with SMTP: no mailbox, and the web client is told to hide it", async () => {
    const sink = await startSmtpSink();
    const parley = await startParley({ SMTP_URL: sink.url });
    try {
      expect(await webConfig(parley.apiUrl)).toMatchObject({ devMailbox: false });
      expect(await devMailboxAnswer(parley.apiUrl)).toBe("Unimplemented");
    } finally {
      await parley.close();
      await sink.close();
    }
  });

  it("production without SMTP refuses to start, and with EMAIL_VERIFICATION=off starts without a mailbox", async () => {
    await expect(startParley({ NODE_ENV: "production" })).rejects.toBeInstanceOf(ConfigError);
    await expect(startParley({ NODE_ENV: "production", DEV_MAILBOX: "true" })).rejects.toThrow(/DEV_MAILBOX: refused/);
    const parley = await startParley({ NODE_ENV: "production", EMAIL_VERIFICATION: "off" });
    try {
      expect(await webConfig(parley.apiUrl)).toMatchObject({ devMailbox: false, emailVerification: false });
      expect(await devMailboxAnswer(parley.apiUrl)).toBe("Unimplemented");
      const ready = (await (await fetch(`${parley.adminUrl}/readyz`)).json()) as { notices?: Record<string, string> };
      expect(ready.notices?.emailVerification).toMatch(/^off/);
    } finally {
      await parley.close();
    }
  });
});
