/**
 * The SDK against a real server (identity + chat over HTTP): every protocol
 * makes real calls, a session logs in/refreshes/logs out, and describeError /
 * fieldErrors are checked on errors the server really sends.
 */
import { randomUUID } from "node:crypto";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { UserRegisteredEventSchema } from "@parley/gen/parley/identity/v1/events_pb";
import { createChatService } from "@parley/chat";
import { createIdentityService } from "@parley/identity";
import { decodeEvent, type BusMessage, type Subscription } from "@parley/platform";
import { createTestPlatform, openVerificationToken, startTestServer, waitFor, type TestPlatform, type TestServer } from "@parley/platform/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createParleyClient, type ParleyClient } from "../src/clients.js";
import { describeError, fieldErrors, retryAfterSeconds } from "../src/errors.js";
import { createNodeParleyClient } from "../src/node.js";
import { createSession, memoryStorage, type SessionLock } from "../src/session.js";

const PASSWORD = "correct horse 42";

interface Server {
  tp: TestPlatform;
  server: TestServer;
  events: BusMessage[];
  close(): Promise<void>;
}

async function startServer(rateLimitScale: number, withChat: boolean): Promise<Server> {
  const tp = await createTestPlatform();
  tp.deps.config.rateLimitScale = rateLimitScale;
  const modules = [await createIdentityService(tp.deps), ...(withChat ? [await createChatService(tp.deps)] : [])];
  const server = await startTestServer(tp.deps, modules);
  const events: BusMessage[] = [];
  const recorder: Subscription = await tp.deps.bus.consume({
    durable: "sdk-test-recorder",
    subjects: ["parley.identity.user.>"],
    handler: async (msg) => void events.push(msg),
  });
  return {
    tp,
    server,
    events,
    async close() {
      await recorder.stop();
      await server.close();
      await tp.close();
    },
  };
}

/** Registers and verifies (the token comes from identity's real event, as the mailer would get it). */
async function registerVerified(s: Server, client: ParleyClient, username: string): Promise<string> {
  const email = `${username}@example.com`;
  await client.auth.register({ email, username, password: PASSWORD });
  let token = "";
  await waitFor(() => {
    const e = s.events.map((m) => decodeEvent(UserRegisteredEventSchema, m)).find((x) => x.email === email);
    token = e ? openVerificationToken(s.tp.deps.config, e) : "";
    return token !== "";
  });
  await client.auth.verifyEmail({ token });
  return email;
}

async function failure(call: Promise<unknown>): Promise<ConnectError> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConnectError);
  return err as ConnectError;
}

let main: Server;
beforeAll(async () => {
  // The whole file calls from 127.0.0.1; the "auth" policy alone would stop it after 20 calls.
  main = await startServer(100, true);
}, 60_000);
afterAll(async () => {
  await main?.close();
});

const protocols = [
  { name: "connect", make: (baseUrl: string) => createParleyClient({ baseUrl, protocol: "connect" }) },
  { name: "grpc-web", make: (baseUrl: string) => createParleyClient({ baseUrl, protocol: "grpc-web" }) },
  { name: "grpc (node)", make: (baseUrl: string) => createNodeParleyClient({ baseUrl, protocol: "grpc" }) },
] as const;

describe.each(protocols)("over $name", ({ name, make }) => {
  it("registers, logs in with a session, and makes authenticated calls", async () => {
    const client = make(main.server.baseUrl);
    const username = `u${name.replace(/[^a-z]/g, "")}${Date.now() % 100_000}`;
    const email = await registerVerified(main, client, username);
    const session = createSession(client);
    const user = await session.login(username, PASSWORD);
    expect(session.loggedIn).toBe(true);
    expect(session.userId).toBe(user?.id);

    const me = await client.users.getMe({});
    expect(me.user?.email).toBe(email);
    const { conversations } = await client.conversations.listConversations({});
    expect(conversations).toEqual([]);

    const notFound = await failure(client.conversations.getConversation({ conversationId: randomUUID() }));
    expect(Code[notFound.code]).toBe("NotFound");
    expect(describeError(notFound)).toMatch(/^[A-Z].*\.$/);
  });

  it("turns the server's input errors into per-field messages", async () => {
    const client = make(main.server.baseUrl);
    const badEmail = await failure(client.auth.register({ email: "not-an-address", username: "fieldtest", password: PASSWORD }));
    expect(Code[badEmail.code]).toBe("InvalidArgument");
    expect(Object.keys(fieldErrors(badEmail))).toEqual(["email"]);
    expect(fieldErrors(badEmail).email).toBe(describeError(badEmail));
    expect(describeError(badEmail).toLowerCase()).toContain(badEmail.rawMessage.toLowerCase().replace(/\.$/, ""));

    const badPassword = await failure(client.auth.register({ email: "ok@example.com", username: "fieldtest", password: "short" }));
    expect(Object.keys(fieldErrors(badPassword, ["email", "username", "password"]))).toEqual(["password"]);
    // A whitelist without the field yields nothing rather than a wrong field.
    expect(fieldErrors(badPassword, ["email"])).toEqual({});
  });

  it("asks to log in again when the call carries no valid token", async () => {
    const client = make(main.server.baseUrl);
    const err = await failure(client.users.getMe({}));
    expect(Code[err.code]).toBe("Unauthenticated");
    expect(describeError(err)).toBe("Please log in again.");
    expect(fieldErrors(err)).toEqual({});
  });
});

describe("session", () => {
  it("refreshes once for concurrent callers, keeps working, and logs out everywhere", async () => {
    let refreshCalls = 0;
    const countRefreshes: Interceptor = (next) => async (req) => {
      if (req.method.name === "Refresh") refreshCalls++;
      return next(req);
    };
    const client = createParleyClient({ baseUrl: main.server.baseUrl, interceptors: [countRefreshes] });
    const username = `sess${Date.now() % 100_000}`;
    await registerVerified(main, client, username);
    const session = createSession(client);
    await session.login(username, PASSWORD);
    const before = await session.accessToken();

    // Refresh tokens rotate with reuse detection: two refreshes with the same
    // token would revoke the session, so this only passes if they are one.
    await Promise.all([session.refresh(), session.refresh(), session.refresh()]);
    expect(refreshCalls).toBe(1);
    expect(await session.accessToken()).not.toBe(before);
    expect((await client.users.getMe({})).user?.username).toBe(username);

    const changes: boolean[] = [];
    session.onChange((loggedIn) => changes.push(loggedIn));
    const token = await session.accessToken();
    await session.logout();
    expect(changes).toEqual([false]);
    expect(session.loggedIn).toBe(false);
    // The revoked access token is refused even when sent explicitly.
    const stale = createParleyClient({ baseUrl: main.server.baseUrl, getAccessToken: () => token });
    expect(Code[(await failure(stale.users.getMe({}))).code]).toBe("Unauthenticated");
  });
});

describe("two tabs sharing one stored session", () => {
  /** An in-process stand-in for the Web Locks API: one holder at a time. */
  function mutex(): SessionLock {
    let tail: Promise<unknown> = Promise.resolve();
    return (fn) => {
      const run = tail.then(fn, fn);
      tail = run.catch(() => undefined);
      return run;
    };
  }

  async function twoTabs(lock: SessionLock | undefined) {
    const username = `tabs${Date.now() % 100_000}${lock ? "l" : "n"}`;
    const client = createParleyClient({ baseUrl: main.server.baseUrl });
    await registerVerified(main, client, username);
    const storage = memoryStorage();
    const tabA = createSession(createParleyClient({ baseUrl: main.server.baseUrl }), storage, { lock });
    await tabA.login(username, PASSWORD);
    const tabBClient = createParleyClient({ baseUrl: main.server.baseUrl });
    const tabB = createSession(tabBClient, storage, { lock });
    expect(await tabB.resume()).toBe(true);
    // Both tabs' timers fire at once with the same refresh token.
    await Promise.allSettled([tabA.refresh(), tabB.refresh()]);
    return { tabA, tabB, tabBClient, username };
  }

  it("with a lock, the second tab adopts the first tab's rotated tokens and both stay logged in", async () => {
    const { tabA, tabB, tabBClient, username } = await twoTabs(mutex());
    expect(tabA.loggedIn && tabB.loggedIn).toBe(true);
    expect(await tabB.accessToken()).toBe(await tabA.accessToken());
    expect((await tabBClient.users.getMe({})).user?.username).toBe(username);
  });

  it("without one, the server's refresh grace window gives both tabs the same successor: both stay logged in", async () => {
    const { tabA, tabB, tabBClient, username } = await twoTabs(undefined);
    // Two refreshes with one token within REFRESH_REUSE_GRACE_SEC are a retry, not reuse.
    expect(tabA.loggedIn && tabB.loggedIn).toBe(true);
    expect((await tabBClient.users.getMe({})).user?.username).toBe(username);
    const token = await tabA.accessToken();
    const fromA = createParleyClient({ baseUrl: main.server.baseUrl, getAccessToken: () => token });
    expect((await fromA.users.getMe({})).user?.username).toBe(username);
  });
});

describe("rate limits", () => {
  let strict: Server;
  beforeAll(async () => {
    strict = await startServer(1, false);
  }, 60_000);
  afterAll(async () => {
    await strict?.close();
  });

  it.each(["connect", "grpc-web"] as const)("say when to retry (%s)", async (protocol) => {
    const client = createParleyClient({ baseUrl: strict.server.baseUrl, protocol });
    let limited: ConnectError | undefined;
    // "email" allows 3 at once per IP (and per recipient address); both protocols share these buckets.
    for (let i = 0; i < 12 && !limited; i++) {
      await client.auth.resendVerification({ email: "someone@example.com" }).catch((e: unknown) => {
        limited = ConnectError.from(e);
      });
    }
    expect(limited).toBeDefined();
    expect(Code[limited!.code]).toBe("ResourceExhausted");
    const seconds = retryAfterSeconds(limited);
    expect(seconds).toBeGreaterThan(0);
    expect(describeError(limited)).toBe(`Too many requests, try again in ${seconds} s.`);
  });
});
