/**
 * Issue 7, item 10: a failing query's error log line must not contain what
 * the query was called with (message text, emails). The handler runs real
 * failing queries against the test database (PGlite or Postgres) and is
 * called over real HTTP; the interceptor's log line is captured and searched.
 */
import { Writable } from "node:stream";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { AuthService } from "@parley/gen/parley/identity/v1/auth_pb";
import { UserSchema } from "@parley/gen/parley/identity/v1/user_pb";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../src/logger.js";
import { createTestPlatform, startTestServer, type TestPlatform, type TestServer } from "../src/testing.js";
import type { ServiceModule } from "../src/types.js";

const SECRET_EMAIL = "victim.person@example.com";
const SECRET_TEXT = "my secret message text 7f3a";

let platform: TestPlatform;
let server: TestServer;
const lines: string[] = [];

beforeAll(async () => {
  platform = await createTestPlatform();
  const capture = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString("utf8").split("\n").filter((l) => l !== ""));
      done();
    },
  });
  const logger = createLogger("info", { test: true }, capture);
  const deps = { ...platform.deps, logger };
  const db = deps.database.db;
  const module: ServiceModule = {
    name: "failing-queries",
    routes(router) {
      router.service(AuthService, {
        async register(req) {
          // Each fails in Postgres with the parameters in drizzle's error, and the
          // first also quotes the offending value in Postgres's own message.
          if (req.username === "uuid") await db.execute(sql`select ${req.email}::uuid as id, ${req.displayName} as t`);
          else await db.execute(sql`select ${req.email} as e, ${req.displayName} as t, 1 / 0 as boom`);
          return { user: create(UserSchema, {}) };
        },
      });
    },
    async start() {},
    async stop() {},
  };
  server = await startTestServer(deps, [module]);
});
afterAll(async () => {
  await server?.close();
  await platform?.close();
});

describe("error logs of failing queries", () => {
  for (const kind of ["uuid", "division"]) {
    it(`keep the SQL and the SQLSTATE but no parameter value (${kind})`, async () => {
      lines.length = 0;
      const auth = createClient(AuthService, server.connect);
      const err = await auth
        .register({ username: kind, email: SECRET_EMAIL, displayName: SECRET_TEXT, password: "x" })
        .catch((e: unknown) => ConnectError.from(e));
      expect(err).toBeInstanceOf(ConnectError);
      expect((err as ConnectError).code).toBe(Code.Internal);

      const failed = lines.find((l) => l.includes('"rpc failed"'));
      expect(failed, lines.join("\n")).toBeDefined();
      expect(failed).not.toContain(SECRET_EMAIL);
      expect(failed).not.toContain("victim.person");
      expect(failed).not.toContain(SECRET_TEXT);
      // Still useful: the query text (placeholders only) and the SQLSTATE.
      expect(failed).toMatch(/select \$1/);
      expect(failed).toMatch(kind === "uuid" ? /22P02/ : /22012/);
      for (const line of lines) expect(line).not.toContain(SECRET_EMAIL);
    });
  }
});
