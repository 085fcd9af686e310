/**
 * NATS credentials from NATS_URL (user/password and token) reach the server,
 * and the password never shows up in logs, errors or /readyz. Uses private
 * nats-servers started with auth (the shared one has none).
 */
import { execFileSync, type ChildProcess } from "node:child_process";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { nkeys } from "nats";
import { afterAll, describe, expect, it } from "vitest";
import { createJetStreamBus } from "../src/bus/jetstream.js";
import { createLogger } from "../src/logger.js";
import { startServer } from "../src/server.js";
import { createTestPlatform, type TestPlatform } from "../src/testing.js";
import type { EventBus } from "../src/types.js";
import { waitFor } from "./helpers.js";
import { freePort, killNatsServer, startNatsServer } from "./nats-server.js";

const storeDirs: string[] = [];
const PASSWORD = "s3cr3t-Pa55word";
const TOKEN = "t0ken-abcdef123456";

function startNats(port: number, auth: string[], configFile?: string): Promise<ChildProcess> {
  const storeDir = join(tmpdir(), `parley-nats-auth-${port}`);
  storeDirs.push(storeDir);
  return startNatsServer(port, storeDir, [...auth, ...(configFile ? ["-c", configFile] : [])]);
}

/** A logger whose JSON lines the test can read. */
function capturedLogger(): { logger: ReturnType<typeof createLogger>; text: () => string } {
  let out = "";
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      out += chunk.toString();
      cb();
    },
  });
  return { logger: createLogger("debug", {}, sink), text: () => out };
}

async function roundTrip(bus: EventBus): Promise<void> {
  const got: string[] = [];
  const sub = await bus.consume({ durable: "auth-probe", subjects: ["parley.chat.>"], handler: async (m) => void got.push(m.id) });
  await bus.publish("parley.chat.message.created", new Uint8Array([1]), "auth-1");
  await waitFor(() => got.includes("auth-1"), 10_000, "event round trip");
  await sub.stop();
}

describe("NATS credentials from NATS_URL", () => {
  const servers: ChildProcess[] = [];
  const buses: EventBus[] = [];
  let platform: TestPlatform | undefined;
  afterAll(async () => {
    // A bus whose server is gone keeps reconnecting and its drain never ends: don't wait for it.
    const settle = (p: Promise<void>) => Promise.race([p.catch(() => undefined), new Promise<void>((r) => setTimeout(r, 2_000))]);
    await Promise.all(buses.map((b) => settle(b.close())));
    await platform?.close();
    await Promise.all(servers.map(killNatsServer));
    await Promise.all(storeDirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it("user/password: connects, and neither logs, errors nor /readyz show the password", async () => {
    const port = await freePort();
    servers.push(await startNats(port, ["--user", "parley", "--pass", PASSWORD]));
    const url = `nats://parley:${encodeURIComponent(PASSWORD)}@127.0.0.1:${port}`;
    const { logger, text } = capturedLogger();

    // A wrong password fails with a message that names the server but not the secret.
    const wrong = await createJetStreamBus({ natsUrl: `nats://parley:wrong-${PASSWORD}@127.0.0.1:${port}`, logger }).then(
      () => undefined,
      (err: unknown) => err as Error,
    );
    expect(wrong?.message).toMatch(/cannot connect to NATS at nats:\/\/parley:\*\*\*@127\.0\.0\.1/);
    expect(wrong?.message).not.toContain(PASSWORD);
    logger.error({ err: wrong }, "bus failed");

    const bus = await createJetStreamBus({ natsUrl: url, namespace: "auth", logger });
    buses.push(bus);
    await roundTrip(bus);

    // /readyz with the bus down: the failure is reported, the password is not.
    platform = await createTestPlatform({ real: false });
    const deps = { ...platform.deps, logger, bus, config: { ...platform.deps.config, natsUrl: url } };
    const s = await startServer({ deps, modules: [], port: 0, adminPort: 0, host: "127.0.0.1" });
    try {
      expect((await fetch(`${s.adminUrl}/readyz`)).status).toBe(200);
      await killNatsServer(servers[0]!);
      let body = "";
      await waitFor(
        async () => {
          const res = await fetch(`${s.adminUrl}/readyz`);
          body = await res.text();
          return res.status === 503;
        },
        15_000,
        "readyz reports the bus down",
      );
      expect(body).toMatch(/"bus"/);
      expect(body).not.toContain(PASSWORD);
    } finally {
      await s.close();
    }
    // The connection status messages while the server is gone are logged too.
    await new Promise((r) => setTimeout(r, 500));
    expect(text()).toMatch(/nats connection status|bus failed/);
    expect(text()).not.toContain(PASSWORD);
  }, 60_000);

  it("token: connects with nats://<token>@host", async () => {
    const port = await freePort();
    servers.push(await startNats(port, ["--auth", TOKEN]));
    const { logger, text } = capturedLogger();
    const bus = await createJetStreamBus({ natsUrl: `nats://${TOKEN}@127.0.0.1:${port}`, namespace: "auth", logger });
    buses.push(bus);
    await roundTrip(bus);
    expect(text()).not.toContain(TOKEN);
  }, 60_000);

  it("nkey: authenticates with the seed in NATS_NKEY_SEED_FILE", async () => {
    const port = await freePort();
    const user = nkeys.createUser();
    const dir = join(tmpdir(), `parley-nats-nkey-${port}`);
    storeDirs.push(dir);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    const config = join(dir, "server.conf");
    await writeFile(config, `authorization { users = [ { nkey: "${user.getPublicKey()}" } ] }\n`);
    const seedFile = join(dir, "user.nk");
    await writeFile(seedFile, new TextDecoder().decode(user.getSeed()));
    servers.push(await startNats(port, [], config));
    const { logger } = capturedLogger();
    // Without the seed the server refuses the connection...
    await expect(createJetStreamBus({ natsUrl: `nats://127.0.0.1:${port}`, logger })).rejects.toThrow(/cannot connect/);
    // ...with it, events flow.
    const bus = await createJetStreamBus({ natsUrl: `nats://127.0.0.1:${port}`, namespace: "auth", logger, security: { nkeySeedFile: seedFile } });
    buses.push(bus);
    await roundTrip(bus);
  }, 60_000);

  it("TLS: tls:// with NATS_TLS_CA_FILE verifies the server; without the CA it is not trusted", async () => {
    const port = await freePort();
    const dir = join(tmpdir(), `parley-nats-tls-${port}`);
    storeDirs.push(dir);
    await mkdir(dir, { recursive: true });
    const [ca, cert, key] = ["ca.pem", "server.pem", "server-key.pem"].map((f) => join(dir, f)) as [string, string, string];
    // A self-signed certificate for 127.0.0.1 that is its own CA.
    execFileSync("openssl", [
      "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
      "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", key, "-out", cert,
    ], { stdio: "ignore" });
    await writeFile(ca, await readFile(cert));
    servers.push(await startNats(port, ["--tls", "--tlscert", cert, "--tlskey", key]));
    const { logger } = capturedLogger();
    const bus = await createJetStreamBus({ natsUrl: `tls://127.0.0.1:${port}`, namespace: "auth", logger, security: { tlsCaFile: ca } });
    buses.push(bus);
    await roundTrip(bus);
    // Without our CA the server's certificate is not trusted.
    await expect(createJetStreamBus({ natsUrl: `tls://127.0.0.1:${port}`, logger })).rejects.toThrow(/cannot connect/);
  }, 60_000);
});
