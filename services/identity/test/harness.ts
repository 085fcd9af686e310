/**
 * One identity service on a real server per test file, with generated
 * clients, the real `parley.identity.>` event stream, and a snapshot of every
 * table for "bad input changed nothing" assertions.
 */
import { Code, ConnectError, createClient, type Client, type Transport } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { AuthService } from "@parley/gen/parley/identity/v1/auth_pb";
import { UserRegisteredEventSchema, type UserRegisteredEvent } from "@parley/gen/parley/identity/v1/events_pb";
import { FriendService } from "@parley/gen/parley/identity/v1/friend_pb";
import { UserService } from "@parley/gen/parley/identity/v1/user_service_pb";
import type { User } from "@parley/gen/parley/identity/v1/user_pb";
import { decodeEvent, type BusMessage, type Database, type Subscription, type TrustProxy } from "@parley/platform";
import {
  bearer,
  createTestPlatform,
  openVerificationToken,
  startTestServer,
  waitFor,
  type TestPlatform,
  type TestServer,
} from "@parley/platform/testing";
import { asc } from "drizzle-orm";
import { expect } from "vitest";
import { createIdentityService } from "../src/index.js";
import { blocks, emailVerificationTokens, friendRequests, friendships, refreshTokens, sessions, users } from "../src/store/schema.js";

export interface Clients {
  auth: Client<typeof AuthService>;
  users: Client<typeof UserService>;
  friends: Client<typeof FriendService>;
}

export interface Harness {
  tp: TestPlatform;
  server: TestServer;
  db: Database;
  /** Every identity event published so far, in arrival order. */
  events: BusMessage[];
  /** Anonymous clients over Connect. */
  anon: Clients;
  clientsFor(token: string): Clients;
  transportFor(token: string): Transport;
  close(): Promise<void>;
}

export function clientsOn(transport: Transport): Clients {
  return {
    auth: createClient(AuthService, transport),
    users: createClient(UserService, transport),
    friends: createClient(FriendService, transport),
  };
}

/**
 * `rateLimitScale` raises every limit (like RATE_LIMIT_SCALE in load tests):
 * the whole file calls from 127.0.0.1, and "auth" allows 20 calls a minute per IP.
 */
export async function startHarness(opts: { rateLimitScale?: number; emailVerificationTtlSec?: number; trustProxy?: TrustProxy } = {}): Promise<Harness> {
  const tp = await createTestPlatform();
  tp.deps.config.rateLimitScale = opts.rateLimitScale ?? 100;
  if (opts.emailVerificationTtlSec) tp.deps.config.emailVerificationTtlSec = opts.emailVerificationTtlSec;
  if (opts.trustProxy !== undefined) tp.deps.config.trustProxy = opts.trustProxy;
  const server = await startTestServer(tp.deps, [await createIdentityService(tp.deps)]);
  const events: BusMessage[] = [];
  const subscription: Subscription = await tp.deps.bus.consume({
    durable: "identity-test-recorder",
    subjects: ["parley.identity.>"],
    handler: async (msg) => {
      events.push(msg);
    },
  });
  const transportFor = (token: string) =>
    createConnectTransport({ baseUrl: server.baseUrl, httpVersion: "1.1", interceptors: [bearer(token)] });
  return {
    tp,
    server,
    db: tp.deps.database.db,
    events,
    anon: clientsOn(server.connect),
    transportFor,
    clientsFor: (token) => clientsOn(transportFor(token)),
    async close() {
      await subscription.stop();
      await server.close();
      await tp.close();
    },
  };
}

/** The verification token mailed to `email`: read from the real registered/verification_requested events. */
export async function verificationTokenFor(h: Harness, email: string, opts: { after?: number } = {}): Promise<string> {
  let found: UserRegisteredEvent | undefined;
  await waitFor(() => {
    const mine = h.events
      .slice(opts.after ?? 0)
      .filter((m) => m.subject === "parley.identity.user.registered" || m.subject === "parley.identity.user.verification_requested")
      .map((m) => decodeEvent(UserRegisteredEventSchema, m))
      .filter((e) => e.email === email.toLowerCase());
    found = mine.at(-1);
    return found !== undefined;
  });
  return openVerificationToken(h.tp.deps.config, found!);
}

export const PASSWORD = "correct horse 42";

export interface Account {
  user: User;
  email: string;
  username: string;
  accessToken: string;
  refreshToken: string;
  clients: Clients;
}

/** Registers, verifies through the emitted event, and logs in. */
export async function createAccount(h: Harness, username: string, displayName = ""): Promise<Account> {
  const email = `${username.replace(/\./g, "-")}@example.com`;
  await h.anon.auth.register({ email, username, password: PASSWORD, displayName });
  await h.anon.auth.verifyEmail({ token: await verificationTokenFor(h, email) });
  const login = await h.anon.auth.login({ login: username, password: PASSWORD });
  return {
    user: login.user!,
    email,
    username,
    accessToken: login.accessToken,
    refreshToken: login.refreshToken,
    clients: h.clientsFor(login.accessToken),
  };
}

/** Every row identity keeps (except the outbox, which the relay drains). */
export async function snapshot(db: Database): Promise<unknown> {
  return {
    users: await db.select().from(users).orderBy(asc(users.id)),
    verificationTokens: await db.select().from(emailVerificationTokens).orderBy(asc(emailVerificationTokens.id)),
    sessions: await db.select().from(sessions).orderBy(asc(sessions.id)),
    refreshTokens: await db.select().from(refreshTokens).orderBy(asc(refreshTokens.id)),
    friendRequests: await db.select().from(friendRequests).orderBy(asc(friendRequests.id)),
    friendships: await db.select().from(friendships).orderBy(asc(friendships.userAId), asc(friendships.userBId)),
    blocks: await db.select().from(blocks).orderBy(asc(blocks.blockerId), asc(blocks.blockedId)),
  };
}

/** Subjects of the events published after index `from`. */
export function subjectsSince(h: Harness, from: number): string[] {
  return h.events.slice(from).map((m) => m.subject);
}

/** Asserts the call fails with `code` (and a message matching `message`). */
export async function expectError(call: Promise<unknown>, code: Code, message?: string | RegExp): Promise<ConnectError> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected ${Code[code]}`).toBeInstanceOf(ConnectError);
  const ce = err as ConnectError;
  expect(Code[ce.code]).toBe(Code[code]);
  if (message !== undefined) expect(ce.rawMessage).toMatch(message);
  return ce;
}

/** Runs each bad call, checks its error, and asserts none of them changed a row. */
export async function expectRejectedWithoutChanges(
  h: Harness,
  cases: Array<[call: () => Promise<unknown>, code: Code, message?: string | RegExp]>,
): Promise<void> {
  const before = await snapshot(h.db);
  for (const [call, code, message] of cases) await expectError(call(), code, message);
  expect(await snapshot(h.db)).toEqual(before);
}
