/** The one redaction helper: connection strings in logs, errors and probe bodies lose their secrets. */
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createPlatform } from "../src/bootstrap.js";
import { loadConfig } from "../src/config.js";
import { createLogger } from "../src/logger.js";
import { redactText, redactUrl, redactWith, secretsOfUrls } from "../src/redact.js";

describe("redaction", () => {
  it("masks passwords, tokens and secret parameters of every backend URL", () => {
    expect(redactUrl("postgres://app:hunter2@db:5432/parley")).toBe("postgres://app:***@db:5432/parley");
    expect(redactUrl("redis://:hunter2@redis:6379")).toBe("redis://:***@redis:6379");
    expect(redactUrl("nats://s3cr3ttoken@nats:4222")).toBe("nats://***@nats:4222");
    expect(redactUrl("smtp://mailer:hunter2@smtp:587?token=abc")).toBe("smtp://mailer:***@smtp:587?token=***");
    const text = "connect to postgres://app:hunter2@db/p failed; nats://tok123@n:4222 down; password=hunter2";
    expect(redactText(text)).not.toMatch(/hunter2|tok123/);
    expect(redactWith("auth failed for hunter2", secretsOfUrls(["postgres://app:hunter2@db/p"]))).toBe("auth failed for ***");
  });

  it("applies to errors (and their causes) logged through the platform logger", () => {
    let out = "";
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        out += chunk.toString();
        cb();
      },
    });
    const log = createLogger("info", {}, sink);
    const err = new Error("db: cannot connect", { cause: new Error("getaddrinfo for postgres://app:hunter2@db:5432/p") });
    log.error({ err, cause: new Error("redis://:hunter2@r:6379 refused") }, "boom");
    expect(out).toContain("boom");
    expect(out).not.toContain("hunter2");
  });

  it("is used by the start-up log line naming the backends", async () => {
    let out = "";
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        out += chunk.toString();
        cb();
      },
    });
    const config = loadConfig({ DATA_DIR: "memory", SMTP_URL: "smtp://mailer:hunter2@smtp.example:587" });
    const platform = await createPlatform(config, createLogger("info", {}, sink));
    await platform.close();
    expect(out).toContain('"smtp":"smtp://mailer:***@smtp.example:587"');
    expect(out).not.toContain("hunter2");
  }, 60_000);
});
