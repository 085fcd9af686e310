/**
 * Distributed mode as operators run it: identity, chat, notification and two
 * realtime edges, each its own OS process started through deploy/entrypoint.sh,
 * sharing one Postgres database, a NATS JetStream namespace and a Redis key
 * prefix. Everything goes through the public SDK, each client pointed at the
 * service that owns the API (what the ingress does by path).
 *
 * Needs the real backends, so it runs only with PARLEY_TEST_REAL=1.
 */
import { generateKeyPairSync, randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as connectNats, RetentionPolicy, StorageType, nanos } from "nats";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Code, ConnectError } from "@connectrpc/connect";
import { createParleyClient, createSession, RealtimeClient, type ParleyClient, type Session } from "@parley/sdk";
import { NodeWebSocket } from "@parley/sdk/node";
import type { Message } from "@parley/gen/parley/chat/v1/message_pb";
import { ServerFrameSchema, type Welcome } from "@parley/gen/parley/realtime/v1/frames_pb";
import { fromBinary } from "@bufbuild/protobuf";
import { NotificationKind } from "@parley/gen/parley/notification/v1/notification_pb";
import { createTokenSigner, generateSigningKey, loadConfig, signingKeyFromJwk } from "@parley/platform";
import { createTestDatabase, deleteBusNamespace, deleteRedisKeys, waitFor } from "@parley/platform/testing";
import { startSmtpSink, type SmtpSink } from "@parley/platform/testing-smtp";
import { freePorts, killAll, startService, terminate, waitReady, type ServiceName, type ServiceProcess } from "./support/processes.js";

const REAL = process.env.PARLEY_TEST_REAL === "1";
const NATS_URL = "nats://127.0.0.1:4222";
const REDIS_URL = "redis://127.0.0.1:6379";
/**
 * The stream earlier versions kept per-node edge deliveries in (a router republished every event
 * there). An upgraded cluster finds it on the server; nothing may trip over it.
 */
async function createLegacyEdgeStream(namespace: string): Promise<string> {
  const name = `PARLEY_EDGE_${namespace}`;
  const nc = await connectNats({ servers: NATS_URL });
  try {
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name, subjects: [`${namespace}.parley.edge.>`], retention: RetentionPolicy.Limits, storage: StorageType.File, max_age: nanos(10 * 60_000) });
  } finally {
    await nc.close();
  }
  return name;
}

async function streamSubjects(name: string): Promise<string[]> {
  const nc = await connectNats({ servers: NATS_URL });
  try {
    return (await (await nc.jetstreamManager()).streams.info(name)).config.subjects;
  } finally {
    await nc.close();
  }
}

/** The chart's terminationGracePeriodSeconds is 30 s (60 s for realtime); a healthy drain here takes ~1-2 s. */
const GRACE_MS = 15_000;

interface Node {
  proc: ServiceProcess;
  httpUrl: string;
  /** /readyz and /metrics (ADMIN_PORT), never the public port. */
  adminUrl: string;
  wsUrl?: string;
}

/** A server frame as the socket received it, before the SDK handles it. */
interface SeenFrame {
  url: string;
  kind: string;
}

/** `NodeWebSocket` that also records the kind of every server frame (the SDK has no event for Reconnect). */
function tappedWebSocket(seen: SeenFrame[]) {
  return class TappedWebSocket extends NodeWebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols);
      this.addEventListener("message", (ev) => {
        // The SDK keeps ws's "nodebuffer" (a Buffer, i.e. a Uint8Array); browsers' sockets give ArrayBuffers.
        const bytes = ev.data instanceof ArrayBuffer ? new Uint8Array(ev.data) : ev.data instanceof Uint8Array ? ev.data : undefined;
        if (!bytes) return;
        seen.push({ url, kind: fromBinary(ServerFrameSchema, bytes).kind.case ?? "none" });
      });
    }
  };
}

interface Person {
  id: string;
  username: string;
  password: string;
  session: Session;
  identity: ParleyClient;
  chat: ParleyClient;
  notification: ParleyClient;
}

describe.skipIf(!REAL)("services as separate processes (distributed mode)", () => {
  const runId = randomBytes(4).toString("hex");
  const procs: ServiceProcess[] = [];
  const nodes = new Map<string, Node>();
  const realtimeClients: RealtimeClient[] = [];
  const privateJwk = { ...generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" }), kid: randomUUID(), alg: "EdDSA", use: "sig" };
  let smtp: SmtpSink | undefined;
  let db: { url: string; drop: () => Promise<void> } | undefined;
  let dataDir = "";
  let legacyEdgeStream = "";

  const node = (label: string): Node => {
    const n = nodes.get(label);
    if (!n) throw new Error(`no node ${label}`);
    return n;
  };
  /** Every process's log tail, for messages of assertions that depend on all of them. */
  const tails = () => procs.map((p) => `--- ${p.label} (${p.alive() ? "running" : "exited"}), ${p.logFile}\n${p.tail(15)}`).join("\n");

  beforeAll(async () => {
    smtp = await startSmtpSink();
    db = await createTestDatabase();
    dataDir = mkdtempSync(join(tmpdir(), "parley-dist-"));
    legacyEdgeStream = await createLegacyEdgeStream(`dist_${runId}`);
    const [identityPort, chatPort, notificationPort, ...morePorts] = await freePorts(12);
    const adminPorts = morePorts.splice(4);
    const edgePorts = morePorts;
    const ports = { identity: identityPort!, chat: chatPort!, notification: notificationPort! };
    const identityUrl = `http://127.0.0.1:${ports.identity}`;
    const chatUrl = `http://127.0.0.1:${ports.chat}`;
    // What the chart gives every service (helm/parley/templates), with this run's isolation.
    const common: Record<string, string> = {
      NODE_ENV: "production",
      LOG_LEVEL: process.env.LOG_LEVEL ?? "info",
      DATA_DIR: dataDir,
      DATABASE_URL: db.url,
      NATS_URL,
      REDIS_URL,
      BUS_NAMESPACE: `dist_${runId}`,
      REDIS_KEY_PREFIX: `dist:${runId}:`,
      SHUTDOWN_DELAY: "0",
      PUBLIC_URL: identityUrl,
      SMTP_URL: smtp.url,
      IDENTITY_URL: identityUrl,
      CHAT_URL: chatUrl,
    };
    const jwksUrl = `${identityUrl}/.well-known/jwks.json`;
    // Identity seals verification tokens for notification with it (the chart mounts it into those two only).
    const tokenKey = randomBytes(32).toString("base64");
    const launch = (svc: ServiceName, label: string, port: number, env: Record<string, string>): Node => {
      const adminPort = adminPorts.shift()!;
      const proc = startService(svc, label, { ...common, PORT: String(port), ADMIN_PORT: String(adminPort), NODE_ID: label, ...env });
      procs.push(proc);
      const n: Node = {
        proc,
        httpUrl: `http://127.0.0.1:${port}`,
        adminUrl: `http://127.0.0.1:${adminPort}`,
        wsUrl: env.WS_PORT ? `ws://127.0.0.1:${env.WS_PORT}/ws` : undefined,
      };
      nodes.set(label, n);
      return n;
    };

    // All at once, as a Deployment rollout does: nothing may depend on another service being up first.
    // Only identity holds the private key; the others verify against its JWKS.
    const started = [
      launch("identity", "identity", ports.identity, { JWT_PRIVATE_JWK: JSON.stringify(privateJwk), VERIFICATION_TOKEN_KEY: tokenKey }),
      launch("chat", "chat", ports.chat, { JWKS_URL: jwksUrl }),
      launch("notification", "notification", ports.notification, { JWKS_URL: jwksUrl, VERIFICATION_TOKEN_KEY: tokenKey }),
    ];
    for (const label of ["edge-a", "edge-b"]) {
      const [httpPort, wsPort] = edgePorts.splice(0, 2) as [number, number];
      started.push(
        launch("realtime", label, httpPort, { JWKS_URL: jwksUrl, WS_PORT: String(wsPort), PUBLIC_WS_URL: `ws://127.0.0.1:${wsPort}/ws` }),
      );
    }
    await Promise.all(started.map((n) => waitReady(n.proc, n.adminUrl)));
  }, 90_000);

  afterAll(async () => {
    for (const c of realtimeClients) c.close();
    await killAll(procs);
    await db?.drop().catch(() => undefined);
    await deleteRedisKeys(REDIS_URL, `dist:${runId}:`).catch(() => undefined);
    await deleteBusNamespace(NATS_URL, `dist_${runId}`).catch(() => undefined);
    await smtp?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  async function signUp(username: string): Promise<Person> {
    const identity = createParleyClient({ baseUrl: node("identity").httpUrl });
    const email = `${username}@example.com`;
    const password = `${username} has a long passphrase`;
    await identity.auth.register({ email, username, password, displayName: username });
    // The verification mail is sent by the notification process, from identity's event over NATS.
    const token = await smtp!.verificationToken(email, 20_000).catch((err: unknown) => {
      throw new Error(`no verification mail for ${email}:\n${tails()}`, { cause: err });
    });
    await identity.auth.verifyEmail({ token });
    const session = createSession(identity);
    const me = await session.login(username, password);
    const getAccessToken = () => session.accessToken();
    return {
      id: me!.id,
      username,
      password,
      session,
      identity,
      chat: createParleyClient({ baseUrl: node("chat").httpUrl, getAccessToken }),
      notification: createParleyClient({ baseUrl: node("notification").httpUrl, getAccessToken }),
    };
  }

  /** A realtime client recording what it sees; `url` may list several edges (tried round-robin on reconnect). */
  function connect(person: Person, url: string | string[], cursors: Record<string, bigint>) {
    const messages: Message[] = [];
    const welcomes: Welcome[] = [];
    const states: { state: string; at: number }[] = [];
    const frames: SeenFrame[] = [];
    const errors: string[] = [];
    let synced = 0;
    const client = new RealtimeClient({
      url,
      WebSocket: tappedWebSocket(frames),
      getAccessToken: async () => (await person.session.accessToken()) ?? "",
      cursors,
    });
    realtimeClients.push(client);
    client.on("message", (m) => messages.push(m));
    client.on("welcome", (w) => welcomes.push(w));
    client.on("synced", () => synced++);
    client.on("state", (state) => states.push({ state, at: Date.now() }));
    client.on("error", (e) => errors.push(e.code));
    return { client, messages, welcomes, states, frames, errors, synced: () => synced };
  }

  // The steps build on each other: after one fails, the rest would only time out one by one.
  let failedStep: string | undefined;
  beforeEach(({ skip, onTestFailed, task }) => {
    if (failedStep) skip(`skipped: "${failedStep}" failed`);
    onTestFailed(() => void (failedStep ??= task.name));
  });

  let alice: Person;
  let bob: Person;
  let conversationId = "";

  it("registers through SMTP mail sent by the notification process, verifies, logs in at identity", async () => {
    const n = Date.now() % 100_000;
    alice = await signUp(`dalice${n}`);
    bob = await signUp(`dbob${n}`);
    expect((await alice.identity.users.getMe({})).user?.id).toBe(alice.id);
  });

  it("chat and notification accept identity's tokens only through its JWKS", async () => {
    // The chat process has no private key; an identity-signed token works there only via JWKS_URL.
    await expect(alice.chat.conversations.listConversations({})).resolves.toBeDefined();
    await expect(alice.notification.notifications.getUnreadCount({})).resolves.toBeDefined();

    const config = loadConfig({});
    const identityKey = createTokenSigner({ key: await signingKeyFromJwk(privateJwk, "test"), config });
    const stranger = createTokenSigner({ key: (await generateSigningKey()).key, config });
    const minted = (await identityKey.signAccess({ userId: alice.id, sessionId: `s-${runId}` })).token;
    const forged = (await stranger.signAccess({ userId: alice.id, sessionId: `s-${runId}` })).token;
    const chatWith = (token: string) => createParleyClient({ baseUrl: node("chat").httpUrl, getAccessToken: () => token });
    await expect(chatWith(minted).conversations.listConversations({})).resolves.toBeDefined();
    await expect(chatWith(forged).conversations.listConversations({})).rejects.toMatchObject({ code: Code.Unauthenticated });
  });

  it("befriends at identity; the offline friend gets a notification at the notification service", async () => {
    const sent = await alice.identity.friends.sendFriendRequest({ target: { case: "username", value: bob.username } });
    await waitFor(async () => {
      const feed = await bob.notification.notifications.listNotifications({});
      return feed.notifications.some((x) => x.kind === NotificationKind.FRIEND_REQUEST_RECEIVED && x.actorId === alice.id);
    }, { timeoutMs: 15_000 }).catch((err: unknown) => {
      throw new Error(`no friend-request notification:\n${tails()}`, { cause: err });
    });
    await bob.identity.friends.respondToFriendRequest({ requestId: sent.request!.id, accept: true });
    // Chat learns the friendship from identity's event (NATS), then lets them open a direct chat.
    await waitFor(async () => {
      conversationId = (await alice.chat.conversations.openDirect({ userId: bob.id })).conversation!.id;
    }, { timeoutMs: 15_000 });

    await alice.chat.messages.sendMessage({ conversationId, clientMessageId: "while-bob-offline", text: "are you there?" });
    await waitFor(async () => {
      const feed = await bob.notification.notifications.listNotifications({});
      return feed.notifications.some((x) => x.kind === NotificationKind.NEW_MESSAGE && x.conversationId === conversationId);
    }, { timeoutMs: 15_000 }).catch((err: unknown) => {
      throw new Error(`no new-message notification for offline Bob:\n${tails()}`, { cause: err });
    });
  });

  let a: ReturnType<typeof connect>;
  let b: ReturnType<typeof connect>;

  it("chats both ways live across two edge nodes (edge-a → NATS → edge-b and back)", async () => {
    a = connect(alice, [node("edge-a").wsUrl!, node("edge-b").wsUrl!], { [conversationId]: 0n });
    b = connect(bob, node("edge-b").wsUrl!, { [conversationId]: 0n });
    await waitFor(() => a.synced() > 0 && b.synced() > 0, { timeoutMs: 15_000 }).catch((err: unknown) => {
      throw new Error(`realtime clients never synced:\n${tails()}`, { cause: err });
    });
    expect(a.welcomes[0]?.nodeId).toBe("edge-a");
    expect(b.welcomes[0]?.nodeId).toBe("edge-b");
    // Resume delivered the message sent before either connected.
    await waitFor(() => a.messages.length === 1 && b.messages.length === 1, { timeoutMs: 10_000 });

    await alice.chat.messages.sendMessage({ conversationId, clientMessageId: "a-live", text: "hi Bob, from edge-a" });
    await waitFor(() => b.messages.some((m) => m.text === "hi Bob, from edge-a"), { timeoutMs: 10_000 }).catch((err: unknown) => {
      throw new Error(`Bob (edge-b) never got Alice's live message:\n${tails()}`, { cause: err });
    });
    await bob.chat.messages.sendMessage({ conversationId, clientMessageId: "b-live", text: "hi Alice, from edge-b" });
    await waitFor(() => a.messages.some((m) => m.text === "hi Alice, from edge-b"), { timeoutMs: 10_000 }).catch((err: unknown) => {
      throw new Error(`Alice (edge-a) never got Bob's live message:\n${tails()}`, { cause: err });
    });
    // Each node delivers on its own: Bob's copy of his own message (edge-b) need not arrive before Alice's (edge-a).
    await waitFor(() => a.messages.length >= 3 && b.messages.length >= 3, { timeoutMs: 10_000 }).catch((err: unknown) => {
      throw new Error(`a sender's own devices never got the message:\n${tails()}`, { cause: err });
    });
    expect(a.messages.map((m) => m.seq)).toEqual([1n, 2n, 3n]);
    expect(b.messages.map((m) => m.seq)).toEqual([1n, 2n, 3n]);
  });

  it("an upgraded server's old PARLEY_EDGE stream is left as it was (unused)", async () => {
    expect(await streamSubjects(legacyEdgeStream)).toEqual([`dist_${runId}.parley.edge.>`]);
  });

  it("SIGTERM on edge-a: Alice is told to reconnect, lands on edge-b and misses nothing sent meanwhile", async () => {
    const edgeA = node("edge-a").proc;
    const before = a.welcomes.length;
    const stopping = terminate(edgeA, GRACE_MS);
    const sentTexts: string[] = [];
    let sentWhileAway = 0;
    // Bob keeps talking through Alice's move, until she is back plus a little after.
    for (let i = 0; i < 200; i++) {
      const away = a.client.state !== "open" || a.welcomes.length === before;
      const text = `during drain ${i}`;
      await bob.chat.messages.sendMessage({ conversationId, clientMessageId: `drain-${i}`, text });
      sentTexts.push(text);
      if (away) sentWhileAway++;
      if (a.welcomes.length > before && a.client.state === "open" && sentTexts.length >= 3 && !away) break;
      // Below the "send" policy's sustained 10/s, so a slow move never runs Bob into the limit.
      await new Promise((resolve) => setTimeout(resolve, 120));
    }
    const exit = await stopping;
    expect(exit, edgeA.tail()).toMatchObject({ code: 0, signal: null });
    expect(a.welcomes.at(-1)?.nodeId, tails()).toBe("edge-b");
    expect(a.frames.filter((f) => f.kind === "reconnect").map((f) => f.url)).toEqual([node("edge-a").wsUrl]);
    expect(sentWhileAway).toBeGreaterThan(0);

    const expected = 3 + sentTexts.length;
    await waitFor(() => a.messages.length >= expected, { timeoutMs: 15_000 }).catch((err: unknown) => {
      throw new Error(`Alice has ${a.messages.length} of ${expected} messages after moving to edge-b:\n${tails()}`, { cause: err });
    });
    // Every message exactly once, in order, no gap.
    expect(a.messages.map((m) => m.seq)).toEqual(Array.from({ length: expected }, (_, i) => BigInt(i + 1)));
    expect(a.messages.slice(3).map((m) => m.text)).toEqual(sentTexts);
    expect(a.client.state).toBe("open");
  });

  it("once Alice closes her app she is offline on every node: the notification process notifies her", async () => {
    a.client.close();
    // Presence is shared through Redis. A route edge-a left behind would hide her for the whole
    // presence TTL (60 s); edge-b's entry goes when her socket closes.
    let i = 0;
    await waitFor(async () => {
      await bob.chat.messages.sendMessage({ conversationId, clientMessageId: `offline-${i}`, text: `offline ${i++}` });
      const feed = await alice.notification.notifications.listNotifications({});
      return feed.notifications.some((x) => x.kind === NotificationKind.NEW_MESSAGE && x.preview.startsWith("offline "));
    }, { timeoutMs: 10_000, intervalMs: 300 }).catch((err: unknown) => {
      throw new Error(`no new-message notification for Alice after she left:\n${tails()}`, { cause: err });
    });
  });

  it("a token revoked by logout at identity is refused by chat and by the edge at once (revocations in Redis)", async () => {
    const token = (await alice.session.accessToken())!;
    const stale = createParleyClient({ baseUrl: node("chat").httpUrl, getAccessToken: () => token });
    await expect(stale.conversations.listConversations({})).resolves.toBeDefined();
    await alice.session.logout();
    const err = await stale.conversations.listConversations({}).then(() => undefined, (e: unknown) => ConnectError.from(e));
    expect(err?.code).toBe(Code.Unauthenticated);

    const refused = connect({ ...alice, session: { ...alice.session, accessToken: async () => token } }, node("edge-b").wsUrl!, {});
    await waitFor(() => refused.client.state === "closed" && refused.errors.includes("unauthenticated"), { timeoutMs: 10_000 });
    expect(refused.welcomes).toEqual([]);
  });

  it("every process drains and exits 0 on SIGTERM within the grace period", async () => {
    // Bob is still on edge-b: its drain tells him to reconnect before the process exits.
    expect(b.client.state).toBe("open");
    const results = await Promise.all(
      procs
        .filter((p) => p.alive())
        .map(async (p) => ({ label: p.label, ...(await terminate(p, GRACE_MS)), tail: p.tail(10) })),
    );
    expect(results.map((r) => r.label).sort()).toEqual(["chat", "edge-b", "identity", "notification"]);
    for (const r of results) expect({ label: r.label, code: r.code, signal: r.signal }, r.tail).toEqual({ label: r.label, code: 0, signal: null });
    expect(b.frames.filter((f) => f.kind === "reconnect").map((f) => f.url)).toEqual([node("edge-b").wsUrl]);
    for (const c of realtimeClients) c.close();
  });
});
