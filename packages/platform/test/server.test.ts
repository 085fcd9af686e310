/**
 * The shared server and interceptors over real HTTP. The fixture module
 * implements two generated services (UserService.GetMe, AuthService.Register)
 * just enough to observe what the platform does around a handler.
 */
import { mkdtemp, rm, writeFile, mkdir } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { AuthService } from "@parley/gen/parley/identity/v1/auth_pb";
import { UserSchema } from "@parley/gen/parley/identity/v1/user_pb";
import { UserService } from "@parley/gen/parley/identity/v1/user_service_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { optionalUser, requireUser } from "../src/auth-context.js";
import { loadConfig } from "../src/config.js";
import { startServer } from "../src/server.js";
import { bearer, createTestPlatform, startTestServer, type TestPlatform, type TestServer } from "../src/testing.js";
import { revocationIds } from "../src/tokens.js";
import type { ServiceModule } from "../src/types.js";

interface Fixture {
  module: ServiceModule;
  setReady(ok: boolean): void;
  /** Resolves the next GetUser call, which otherwise waits (to test draining). */
  release(): void;
}

function fixtureModule(): Fixture {
  let ready = true;
  let release = () => {};
  const module: ServiceModule = {
    name: "fixture",
    routes(router) {
      router.service(UserService, {
        getMe(_req, ctx) {
          const me = requireUser(ctx);
          return { user: create(UserSchema, { id: me.userId }) };
        },
        async getUser(req) {
          if (req.userId === "boom") throw new Error("connect ECONNREFUSED 10.0.0.7:5432 (password=hunter2)");
          if (req.userId === "slow") await new Promise<void>((resolve) => (release = resolve));
          return { user: create(UserSchema, { id: req.userId }) };
        },
      });
      router.service(AuthService, {
        register(req, ctx) {
          // Echo who the platform says is calling, so tests can see the optional claims.
          return { user: create(UserSchema, { username: req.username, id: optionalUser(ctx)?.userId ?? "" }) };
        },
      });
    },
    http(req, res) {
      if (req.url !== "/.well-known/fixture") return false;
      res.writeHead(200, { "content-type": "application/json" }).end('{"fixture":true}');
      return true;
    },
    async start() {},
    async stop() {},
    async ready() {
      if (!ready) throw new Error("fixture not warmed up");
    },
  };
  return { module, setReady: (ok) => (ready = ok), release: () => release() };
}

/** GET with the path sent byte for byte. */
function rawGet(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method: "GET" }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve(`${res.statusCode} ${body}`));
    });
    req.on("error", reject);
    req.end();
  });
}

async function rejection(p: Promise<unknown>): Promise<ConnectError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof ConnectError)) throw new Error(`expected a ConnectError, got ${String(err)}`);
  return err;
}

let platform: TestPlatform;
let fixture: Fixture;
let server: TestServer;
let token: string;

beforeAll(async () => {
  platform = await createTestPlatform();
  fixture = fixtureModule();
  server = await startTestServer(platform.deps, [fixture.module]);
  token = await platform.mintAccessToken("user-42");
}, 60_000);
afterAll(async () => {
  await server?.close();
  await platform?.close();
}, 30_000);

describe("protocols on one port", () => {
  const cases: [string, () => Transport][] = [
    ["connect (HTTP/1.1)", () => server.connect],
    ["grpc (h2c)", () => server.grpc],
    ["grpc-web (HTTP/1.1)", () => server.grpcWeb],
  ];
  it.each(cases)("serves an authenticated call over %s", async (_name, transport) => {
    const client = createClient(UserService, transport());
    const res = await client.getMe({}, { headers: { authorization: `Bearer ${token}` } });
    expect(res.user?.id).toBe("user-42");
  });
});

describe("auth interceptor", () => {
  it("lets public methods through without a token", async () => {
    const auth = createClient(AuthService, server.connect);
    const res = await auth.register({ username: "alice", email: "a@example.com", password: "x" });
    expect(res.user).toMatchObject({ username: "alice", id: "" });
  });

  it("sets the caller on public methods when a valid token comes along, ignores a bad one", async () => {
    const withToken = createClient(AuthService, createConnectTransport({ baseUrl: server.baseUrl, httpVersion: "1.1", interceptors: [bearer(token)] }));
    expect((await withToken.register({ username: "bob" })).user?.id).toBe("user-42");
    const withJunk = createClient(AuthService, createConnectTransport({ baseUrl: server.baseUrl, httpVersion: "1.1", interceptors: [bearer("junk")] }));
    expect((await withJunk.register({ username: "bob" })).user?.id).toBe("");
  });

  it("rejects non-public methods without a token, with garbage, or with a revoked token", async () => {
    const anon = createClient(UserService, server.connect);
    const missing = await rejection(anon.getMe({}));
    expect(missing.code).toBe(Code.Unauthenticated);
    expect(missing.rawMessage).toMatch(/missing access token/);

    const junk = createClient(UserService, createConnectTransport({ baseUrl: server.baseUrl, httpVersion: "1.1", interceptors: [bearer("not.a.jwt")] }));
    const invalid = await rejection(junk.getMe({}));
    expect([invalid.code, invalid.rawMessage]).toEqual([Code.Unauthenticated, "invalid access token"]);

    const raw = await fetch(`${server.baseUrl}/parley.identity.v1.UserService/GetMe`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Basic dXNlcjpwYXNz" },
      body: "{}",
    });
    expect(raw.status).toBe(401);
    expect(await raw.json()).toMatchObject({ code: "unauthenticated", message: expect.stringMatching(/malformed authorization header/) });

    const sessionId = "s-revoke-me";
    const doomed = await platform.mintAccessToken("user-7", { sessionId });
    const client = createClient(UserService, createConnectTransport({ baseUrl: server.baseUrl, httpVersion: "1.1", interceptors: [bearer(doomed)] }));
    expect((await client.getMe({})).user?.id).toBe("user-7");
    await platform.deps.revocations.revoke(revocationIds.session(sessionId), Date.now() + 60_000);
    const revoked = await rejection(client.getMe({}));
    expect([revoked.code, revoked.rawMessage]).toEqual([Code.Unauthenticated, "access token revoked"]);
  });

  it("rejects an expired token with a clear reason", async () => {
    const expired = await platform.mintAccessToken("user-1", { ttlSec: -60 });
    const client = createClient(UserService, createConnectTransport({ baseUrl: server.baseUrl, httpVersion: "1.1", interceptors: [bearer(expired)] }));
    const err = await rejection(client.getMe({}));
    expect([err.code, err.rawMessage]).toEqual([Code.Unauthenticated, "access token expired"]);
  });
});

describe("error interceptor", () => {
  it("hides internal errors behind 'internal error' and echoes the request id", async () => {
    const res = await fetch(`${server.baseUrl}/parley.identity.v1.UserService/GetUser`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}`, "x-request-id": "req-123" },
      body: JSON.stringify({ userId: "boom" }),
    });
    expect(res.status).toBe(500);
    const body = await res.text();
    expect(JSON.parse(body)).toEqual({ code: "internal", message: "internal error" });
    expect(body).not.toMatch(/hunter2|ECONNREFUSED/);
    expect(res.headers.get("x-request-id")).toBe("req-123");
  });
});

describe("rate limit interceptor", () => {
  it("answers resource_exhausted with an accurate retry-after, per IP for public calls whatever token they carry", async () => {
    const p = await createTestPlatform();
    // auth: 20/min * 0.1 = 2 per minute (one every 30 s), burst 10 * 0.1 = 1.
    p.deps.config.rateLimitScale = 0.1;
    const s = await startTestServer(p.deps, [fixtureModule().module]);
    try {
      const auth = createClient(AuthService, s.connect);
      await auth.register({ username: "a" });
      const err = await rejection(auth.register({ username: "b" }));
      expect(err.code).toBe(Code.ResourceExhausted);
      expect(err.rawMessage).toMatch(/^too many requests, retry in \d+ s$/);
      // The next call fits one emission interval (30 s) later, not at the end of some window.
      const retryAfter = Number(err.metadata.get("retry-after"));
      expect(retryAfter).toBeGreaterThanOrEqual(29);
      expect(retryAfter).toBeLessThanOrEqual(30);

      // Same limit over gRPC: the counter is per client, not per protocol.
      const overGrpc = await rejection(createClient(AuthService, s.grpc).register({ username: "d" }));
      expect(overGrpc.code).toBe(Code.ResourceExhausted);

      // A bearer token (of any number of accounts) does not move a public call out of the IP bucket.
      for (const user of ["user-rl-1", "user-rl-2", "user-rl-3"]) {
        const t = await p.mintAccessToken(user);
        const authed = createClient(AuthService, createConnectTransport({ baseUrl: s.baseUrl, httpVersion: "1.1", interceptors: [bearer(t)] }));
        expect((await rejection(authed.register({ username: "e" }))).code).toBe(Code.ResourceExhausted);
      }
    } finally {
      await s.close();
      await p.close();
    }
  }, 60_000);

  it("counts authenticated calls per user", async () => {
    const p = await createTestPlatform();
    // default: 1200/min * 0.001 = 1 per minute, burst 1.
    p.deps.config.rateLimitScale = 0.001;
    const s = await startTestServer(p.deps, [fixtureModule().module]);
    try {
      const me = async (user: string) =>
        createClient(UserService, createConnectTransport({ baseUrl: s.baseUrl, httpVersion: "1.1", interceptors: [bearer(await p.mintAccessToken(user))] }));
      const a = await me("user-a");
      await a.getMe({});
      expect((await rejection(a.getMe({}))).code).toBe(Code.ResourceExhausted);
      await (await me("user-b")).getMe({});
    } finally {
      await s.close();
      await p.close();
    }
  }, 60_000);
});

describe("client ip", () => {
  /** Register calls through a server with `trust`, one allowed per client IP (auth 20 * 0.05 = 1). */
  async function withTrust(trust: string, body: (from: (xff: string) => Promise<Code | "ok">) => Promise<void>): Promise<void> {
    const p = await createTestPlatform();
    p.deps.config.rateLimitScale = 0.05;
    p.deps.config.trustProxy = loadConfig({ TRUST_PROXY: trust }).trustProxy;
    const s = await startTestServer(p.deps, [fixtureModule().module]);
    try {
      const auth = createClient(AuthService, s.connect);
      await body((xff) =>
        auth.register({ username: "x" }, { headers: { "x-forwarded-for": xff } }).then(
          () => "ok" as const,
          (e: unknown) => ConnectError.from(e).code,
        ),
      );
    } finally {
      await s.close();
      await p.close();
    }
  }

  it("takes the entry the trusted proxy appended, not the leftmost one the client wrote", async () => {
    // TRUST_PROXY=true (the chart's default) means one proxy: the rightmost entry is the client.
    await withTrust("true", async (from) => {
      expect(await from("198.51.100.1, 203.0.113.1")).toBe("ok");
      // A spoofed leftmost entry does not make a new bucket.
      expect(await from("198.51.100.2, 203.0.113.1")).toBe(Code.ResourceExhausted);
      expect(await from("203.0.113.1")).toBe(Code.ResourceExhausted);
      // Another client behind the same proxy has its own.
      expect(await from("198.51.100.1, 203.0.113.2")).toBe("ok");
    });
  }, 60_000);

  it("walks past trusted proxy CIDRs", async () => {
    await withTrust("loopback,10.0.0.0/8", async (from) => {
      expect(await from("198.51.100.1, 203.0.113.9, 10.0.0.5")).toBe("ok");
      expect(await from("198.51.100.7, 203.0.113.9, 10.1.2.3")).toBe(Code.ResourceExhausted);
      expect(await from("203.0.113.10, 10.0.0.5")).toBe("ok");
    });
  }, 60_000);

  it("ignores X-Forwarded-For when no proxy is trusted", async () => {
    await withTrust("false", async (from) => {
      expect(await from("198.51.100.1")).toBe("ok");
      expect(await from("198.51.100.2")).toBe(Code.ResourceExhausted);
    });
  });

  it("refuses a malformed TRUST_PROXY at start-up", () => {
    expect(() => loadConfig({ TRUST_PROXY: "10.0.0.0/99" })).toThrow(/TRUST_PROXY/);
  });
});

describe("http endpoints", () => {
  it("answers /healthz, /readyz and /metrics on the admin port only", async () => {
    for (const path of ["/healthz", "/readyz", "/metrics"]) expect((await fetch(`${server.baseUrl}${path}`)).status).toBe(404);
    expect((await fetch(`${server.adminUrl}/healthz`)).status).toBe(200);
    const ready = await fetch(`${server.adminUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ready: true });

    fixture.setReady(false);
    const notReady = await fetch(`${server.adminUrl}/readyz`);
    fixture.setReady(true);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toEqual({ ready: false, failed: { "module:fixture": "fixture not warmed up" } });

    const metrics = await fetch(`${server.adminUrl}/metrics`);
    expect(metrics.status).toBe(200);
    const text = await metrics.text();
    expect(text).toMatch(/process_cpu_user_seconds_total/);
    expect(text).toMatch(/rpc_duration_seconds_count\{procedure="parley.identity.v1.UserService\/GetMe",code="ok"\}/);
    expect(text).toMatch(/rpc_duration_seconds_count\{procedure="parley.identity.v1.UserService\/GetMe",code="unauthenticated"\}/);
  });

  it("routes module endpoints and 404s the rest", async () => {
    const res = await fetch(`${server.baseUrl}/.well-known/fixture`);
    expect(await res.json()).toEqual({ fixture: true });
    expect((await fetch(`${server.baseUrl}/nothing-here`)).status).toBe(404);
  });

  it("answers CORS preflights and exposes headers to allowed origins", async () => {
    const pre = await fetch(`${server.baseUrl}/parley.identity.v1.UserService/GetMe`, {
      method: "OPTIONS",
      headers: { origin: "https://app.example", "access-control-request-method": "POST", "access-control-request-headers": "authorization,content-type" },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-origin")).toBe("*");
    expect(pre.headers.get("access-control-allow-headers")).toMatch(/Authorization/);
    expect(pre.headers.get("access-control-allow-methods")).toMatch(/POST/);

    const res = await fetch(`${server.baseUrl}/parley.identity.v1.AuthService/Register`, {
      method: "POST",
      headers: { origin: "https://app.example", "content-type": "application/json" },
      body: "{}",
    });
    expect(res.headers.get("access-control-expose-headers")).toMatch(/Retry-After/);
  });

  it("allows only configured origins", async () => {
    const p = await createTestPlatform();
    p.deps.config.corsOrigins = ["https://good.example"];
    const s = await startTestServer(p.deps, []);
    try {
      const preflight = (origin: string) =>
        fetch(`${s.baseUrl}/x`, { method: "OPTIONS", headers: { origin, "access-control-request-method": "POST" } });
      const good = await preflight("https://good.example");
      expect(good.status).toBe(204);
      expect(good.headers.get("access-control-allow-origin")).toBe("https://good.example");
      const bad = await preflight("https://evil.example");
      expect(bad.status).toBe(403);
      expect(bad.headers.get("access-control-allow-origin")).toBeNull();
    } finally {
      await s.close();
      await p.close();
    }
  }, 60_000);
});

describe("static files and shutdown", () => {
  let dir: string;
  beforeAll(async () => {
    const parent = await mkdtemp(join(tmpdir(), "parley-static-"));
    await writeFile(join(parent, "secret.txt"), "top secret");
    dir = join(parent, "web");
    await mkdir(dir);
    await mkdir(join(dir, "assets"));
    await writeFile(join(dir, "index.html"), "<!doctype html><title>parley</title>");
    await writeFile(join(dir, "assets", "app.js"), "console.log(1)");
  });
  afterAll(() => rm(join(dir, ".."), { recursive: true, force: true }));

  it("serves files, falls back to index.html for app routes, and stays inside its root", async () => {
    const s = await startServer({ deps: platform.deps, modules: [], port: 0, host: "127.0.0.1", staticDir: dir });
    try {
      const js = await fetch(`${s.url}/assets/app.js`);
      expect(js.headers.get("content-type")).toMatch(/javascript/);
      expect(await js.text()).toBe("console.log(1)");
      const route = await fetch(`${s.url}/conversations/123`);
      expect(await route.text()).toMatch(/<title>parley<\/title>/);
      expect((await fetch(`${s.url}/assets/missing.js`)).status).toBe(404);
      // Raw request: fetch would resolve the dots before sending.
      for (const path of ["/../secret.txt", "/%2e%2e/secret.txt", "/assets/..%2f..%2fsecret.txt"]) {
        expect(await rawGet(s.port, path)).not.toMatch(/top secret/);
      }
      // Probe paths are not the SPA shell on the public port.
      expect((await fetch(`${s.url}/metrics`)).status).toBe(404);
    } finally {
      await s.close();
    }
  });

  it("finishes in-flight calls on close, refuses new connections, and reports not ready while draining", async () => {
    const f = fixtureModule();
    const s = await startServer({ deps: platform.deps, modules: [f.module], port: 0, adminPort: 0, host: "127.0.0.1", closeGraceMs: 5_000 });
    const client = createClient(UserService, createConnectTransport({ baseUrl: s.url, httpVersion: "1.1", interceptors: [bearer(token)] }));
    const inFlight = client.getUser({ userId: "slow" });
    await new Promise((r) => setTimeout(r, 50));
    s.markNotReady();
    expect((await fetch(`${s.adminUrl}/readyz`)).status).toBe(503);
    const closed = s.close();
    await new Promise((r) => setTimeout(r, 50));
    await expect(fetch(`${s.url}/healthz`)).rejects.toThrow();
    f.release();
    expect((await inFlight).user?.id).toBe("slow");
    await closed;
  });

  it("lets an in-flight gRPC (h2c) call finish on close", async () => {
    const f = fixtureModule();
    const s = await startServer({ deps: platform.deps, modules: [f.module], port: 0, host: "127.0.0.1", closeGraceMs: 5_000 });
    const client = createClient(UserService, createGrpcTransport({ baseUrl: s.url }));
    const inFlight = client.getUser({ userId: "slow" }, { headers: { authorization: `Bearer ${token}` } });
    await new Promise((r) => setTimeout(r, 100));
    const closed = s.close();
    f.release();
    expect((await inFlight).user?.id).toBe("slow");
    await closed;
  });
});
