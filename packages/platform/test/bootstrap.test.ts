/** createPlatform wiring: embedded backends, and verification against a remote JWKS. */
import { spawn } from "node:child_process";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, describe, expect, it } from "vitest";
import { createPlatform, type Platform } from "../src/bootstrap.js";
import { loadConfig } from "../src/config.js";
import { startServer, type RunningServer } from "../src/server.js";
import { revocationIds } from "../src/tokens.js";
import type { ServiceModule } from "../src/types.js";

const toClose: { close(): Promise<void> }[] = [];
afterAll(async () => {
  for (const c of toClose.reverse()) await c.close();
}, 30_000);

function jwksModule(platform: Platform): ServiceModule {
  return {
    name: "jwks",
    routes: () => {},
    http(req, res) {
      if (req.url !== "/.well-known/jwks.json") return false;
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(platform.signer?.jwks()));
      return true;
    },
    start: async () => {},
    stop: async () => {},
  };
}

describe("createPlatform", () => {
  it("builds embedded backends with a local signer and verifier", async () => {
    const platform = await createPlatform(loadConfig({ DATA_DIR: "memory", LOG_LEVEL: "silent" }));
    toClose.push(platform);
    expect(platform.database.kind).toBe("pglite");
    expect(platform.signer).toBeDefined();
    const { token } = await platform.signer!.signAccess({ userId: "u1", sessionId: "s1" });
    await expect(platform.tokens.verify(token)).resolves.toMatchObject({ userId: "u1", sessionId: "s1" });
    await platform.database.ping();
    await platform.bus.ping();
    await platform.readinessChecks.stores?.();
    expect(await platform.metrics.metrics()).toMatch(/nodejs_heap_size_total_bytes/);
  }, 60_000);

  it("verifies against JWKS_URL without a signer, and shares revocations through the store", async () => {
    const identity = await createPlatform(loadConfig({ DATA_DIR: "memory", LOG_LEVEL: "silent" }));
    toClose.push(identity);
    const server: RunningServer = await startServer({ deps: identity, modules: [jwksModule(identity)], port: 0, host: "127.0.0.1" });
    toClose.push(server);

    const chat = await createPlatform(loadConfig({ DATA_DIR: "memory", LOG_LEVEL: "silent", JWKS_URL: `${server.url}/.well-known/jwks.json` }));
    toClose.push(chat);
    expect(chat.signer).toBeUndefined();
    const { token, jti, expiresAtMs } = await identity.signer!.signAccess({ userId: "u9", sessionId: "s9" });
    await expect(chat.tokens.verify(token)).resolves.toMatchObject({ userId: "u9" });

    // Memory stores are per process; here the revocation goes into chat's own store.
    await chat.revocations.revoke(revocationIds.token(jti), expiresAtMs);
    const err = await chat.tokens.verify(token).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.Unauthenticated);
  }, 60_000);
});

describe("runStandalone", () => {
  it("serves, reports not-ready on SIGTERM, and exits 0 after draining", async () => {
    const script = `
      import { runStandalone } from "./packages/platform/src/bootstrap.ts";
      await runStandalone(async () => ({ name: "probe", routes() {}, async start() {}, async stop() { console.log("STOPPED"); } }));
    `;
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      cwd: new URL("../../..", import.meta.url).pathname,
      env: { ...process.env, PORT: "0", ADMIN_PORT: "0", DATA_DIR: "memory", LOG_LEVEL: "info", SHUTDOWN_DELAY: "0.3", NODE_ID: "probe-1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));

    const deadline = Date.now() + 45_000;
    let url: string | undefined;
    let admin: string | undefined;
    while ((!url || !admin) && Date.now() < deadline) {
      url = /listening on (http:\/\/\S+?)"/.exec(out)?.[1];
      admin = /"admin":"(http:\/\/[^"]+)"/.exec(out)?.[1];
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(url, out).toBeDefined();
    expect((await fetch(`${url}/readyz`)).status).toBe(404);
    expect((await fetch(`${admin}/readyz`)).status).toBe(200);
    child.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 100));
    // Still serving during SHUTDOWN_DELAY, but no longer ready.
    expect((await fetch(`${admin}/readyz`)).status).toBe(503);
    expect(await exited).toBe(0);
    expect(out).toMatch(/STOPPED/);
  }, 60_000);

  it("exits 1 with the variable named on a bad configuration", async () => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "--input-type=module", "-e", `import { runStandalone } from "./packages/platform/src/bootstrap.ts"; await runStandalone(async () => { throw new Error("unreachable"); });`],
      { cwd: new URL("../../..", import.meta.url).pathname, env: { ...process.env, PORT: "not-a-port" }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let err = "";
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(code).toBe(1);
    expect(err).toMatch(/PORT/);
  }, 30_000);
});
