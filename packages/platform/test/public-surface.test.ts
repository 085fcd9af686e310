/**
 * What the public port shows a stranger: no probes or metrics (those are on
 * the admin port), security headers on the web client's files, and in
 * production no CORS for origins nobody configured.
 */
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.js";
import { startServer } from "../src/server.js";
import { createTestPlatform, type TestPlatform } from "../src/testing.js";

let platform: TestPlatform;
let dir: string;
beforeAll(async () => {
  platform = await createTestPlatform();
  dir = await mkdtemp(join(tmpdir(), "parley-public-"));
  await mkdir(join(dir, "assets"));
  await writeFile(join(dir, "index.html"), "<!doctype html><title>parley</title>");
  await writeFile(join(dir, "assets", "app.js"), "console.log(1)");
}, 60_000);
afterAll(async () => {
  await platform?.close();
  await rm(dir, { recursive: true, force: true });
});

describe("admin port", () => {
  it("serves /metrics, /readyz and /healthz; the public port answers 404 for them", async () => {
    const s = await startServer({ deps: platform.deps, modules: [], port: 0, adminPort: 0, host: "127.0.0.1", staticDir: dir });
    try {
      expect(s.adminPort).toBeGreaterThan(0);
      expect(s.adminPort).not.toBe(s.port);
      for (const path of ["/metrics", "/readyz", "/healthz"]) {
        const pub = await fetch(`${s.url}${path}`);
        expect(pub.status, path).toBe(404);
        expect(await pub.text()).not.toMatch(/process_cpu|ready/);
      }
      const metrics = await fetch(`${s.adminUrl}/metrics`);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toMatch(/process_cpu_user_seconds_total/);
      expect((await fetch(`${s.adminUrl}/readyz`)).status).toBe(200);
      expect((await fetch(`${s.adminUrl}/healthz`)).status).toBe(200);
      // The admin port serves nothing else (no API, no web client).
      expect((await fetch(`${s.adminUrl}/`)).status).toBe(404);
    } finally {
      await s.close();
    }
  });
});

describe("static responses", () => {
  it("carry a strict CSP, nosniff, frame protection and a referrer policy", async () => {
    const s = await startServer({ deps: platform.deps, modules: [], port: 0, host: "127.0.0.1", staticDir: dir });
    try {
      for (const path of ["/", "/assets/app.js", "/conversations/1", "/assets/missing.js"]) {
        const res = await fetch(`${s.url}${path}`);
        const csp = res.headers.get("content-security-policy") ?? "";
        expect(csp, path).toMatch(/default-src 'self'/);
        expect(csp).toMatch(/script-src 'self'(;|$)/);
        expect(csp).toMatch(/frame-ancestors 'none'/);
        expect(csp).toMatch(/object-src 'none'/);
        // The app's WebSocket edge (config) is reachable; nothing else is.
        expect(csp).toContain(`connect-src 'self' ${new URL(platform.deps.config.publicUrl).origin}`);
        expect(csp).toContain(new URL(platform.deps.config.publicWsUrl).host);
        expect(res.headers.get("x-content-type-options")).toBe("nosniff");
        expect(res.headers.get("x-frame-options")).toBe("DENY");
        expect(res.headers.get("referrer-policy")).toBe("strict-origin-when-cross-origin");
      }
    } finally {
      await s.close();
    }
  });
});

describe("CORS default", () => {
  it("is none in production: a foreign origin gets no CORS grant and its preflight is refused", async () => {
    const prod = loadConfig({ NODE_ENV: "production", EMAIL_VERIFICATION: "off", DATA_DIR: "memory" });
    expect(prod.corsOrigins).toEqual([]);
    // Development keeps `make dev` (and Vite's dev server on another port) working.
    expect(loadConfig({ NODE_ENV: "development", DATA_DIR: "memory" }).corsOrigins).toEqual(["*"]);
    expect(loadConfig({ NODE_ENV: "production", EMAIL_VERIFICATION: "off", CORS_ORIGINS: "https://app.example", DATA_DIR: "memory" }).corsOrigins).toEqual([
      "https://app.example",
    ]);

    const deps = { ...platform.deps, config: { ...platform.deps.config, corsOrigins: prod.corsOrigins } };
    const s = await startServer({ deps, modules: [], port: 0, host: "127.0.0.1" });
    try {
      const pre = await fetch(`${s.url}/parley.identity.v1.AuthService/Login`, {
        method: "OPTIONS",
        headers: { origin: "https://evil.example", "access-control-request-method": "POST", "access-control-request-headers": "content-type" },
      });
      expect(pre.status).toBe(403);
      expect(pre.headers.get("access-control-allow-origin")).toBeNull();
      const simple = await fetch(`${s.url}/parley.identity.v1.AuthService/Login`, {
        method: "POST",
        headers: { origin: "https://evil.example", "content-type": "application/json" },
        body: "{}",
      });
      expect(simple.headers.get("access-control-allow-origin")).toBeNull();
    } finally {
      await s.close();
    }
  });
});
