/**
 * `make cluster` as a user meets it: identity, chat and notification with two replicas each and
 * two realtime edges, each its own process from the compiled build, behind Debian's nginx routing
 * like the chart's ingress (scripts/cluster). Everything goes through the one nginx URL: the web
 * client's /config.json, every API through the SDK, and /ws. Then one edge is SIGKILLed in the
 * middle of a conversation: the client reconnects through nginx to the other edge and resumes
 * with every message exactly once, in order.
 *
 * Needs the real backends and nginx, so it runs only with PARLEY_TEST_REAL=1.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { RealtimeClient } from "@parley/sdk";
import { NodeWebSocket } from "@parley/sdk/node";
import type { Message } from "@parley/gen/parley/chat/v1/message_pb";
import type { Welcome } from "@parley/gen/parley/realtime/v1/frames_pb";
import { createTestDatabase, deleteBusNamespace, deleteRedisKeys, waitFor } from "@parley/platform/testing";
import { startSmtpSink, type SmtpSink } from "@parley/platform/testing-smtp";
import { startCluster, type Cluster } from "../../scripts/cluster/index.js";
import { befriend, openDirect, signUp as signUpPerson, type Person } from "./support/people.js";

const REAL = process.env.PARLEY_TEST_REAL === "1";
const NATS_URL = "nats://127.0.0.1:4222";
const REDIS_URL = "redis://127.0.0.1:6379";

describe.skipIf(!REAL)("make cluster: replicas behind nginx at one URL", () => {
  const runId = randomBytes(4).toString("hex");
  const namespace = `nginx_${runId}`;
  const stateDir = mkdtempSync(join(tmpdir(), "parley-cluster-"));
  const clients: RealtimeClient[] = [];
  let cluster: Cluster | undefined;
  let smtp: SmtpSink | undefined;
  let db: { url: string; drop: () => Promise<void> } | undefined;

  const c = (): Cluster => {
    if (!cluster) throw new Error("cluster not started");
    return cluster;
  };

  beforeAll(async () => {
    smtp = await startSmtpSink();
    db = await createTestDatabase();
    cluster = await startCluster({ stateDir, port: 0, databaseUrl: db.url, natsUrl: NATS_URL, redisUrl: REDIS_URL, namespace, smtpUrl: smtp.url, log: () => undefined });
  }, 60_000);

  afterAll(async () => {
    for (const client of clients) client.close();
    await cluster?.stopAll(10_000);
    await db?.drop().catch(() => undefined);
    await deleteRedisKeys(REDIS_URL, `${namespace}:`).catch(() => undefined);
    await deleteBusNamespace(NATS_URL, namespace).catch(() => undefined);
    await smtp?.close();
    rmSync(stateDir, { recursive: true, force: true });
  }, 30_000);

  // The steps build on each other: after one fails, the rest would only time out one by one.
  let failedStep: string | undefined;
  beforeEach(({ skip, onTestFailed, task }) => {
    if (failedStep) skip(`skipped: "${failedStep}" failed`);
    onTestFailed(() => void (failedStep ??= task.name));
  });

  /** Upstream addresses nginx logged for requests whose line contains `path`. */
  const upstreamsFor = (path: string): Set<string> =>
    new Set(
      readFileSync(c().nginxLog, "utf8")
        .split("\n")
        .filter((l) => l.includes(` ${path} `))
        .map((l) => /upstream=(\S+)/.exec(l)?.[1] ?? ""),
    );
  const portsOf = (service: string) => c().processes().filter((p) => p.service === service).map((p) => `127.0.0.1:${p.port}`).sort();

  it("serves the web client, /config.json and JWKS at the one URL, from both identity replicas", async () => {
    const index = await fetch(`${c().url}/`);
    expect(index.headers.get("content-type")).toContain("text/html");
    expect(await index.text()).toContain('<div id="app">');
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${c().url}/config.json`);
      expect(await res.json()).toEqual({ apiUrl: c().url, wsUrl: c().wsUrl, devMailbox: false, emailVerification: true });
    }
    expect(c().wsUrl).toBe(`${c().url.replace(/^http/, "ws")}/ws`);
    expect([...upstreamsFor("/config.json")].sort()).toEqual(portsOf("identity"));
    const jwks = (await (await fetch(`${c().url}/.well-known/jwks.json`)).json()) as { keys: unknown[] };
    expect(jwks.keys.length).toBeGreaterThan(0);
    // DevMailboxService's package goes to notification, which does not serve it outside
    // development: its plain 404, not identity's web client (the `/` route) nor nginx's page.
    const mailbox = await fetch(`${c().url}/parley.notification.v1.DevMailboxService/ListDevMail`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ to: "nobody@example.com" }),
    });
    expect({ status: mailbox.status, body: await mailbox.text() }).toEqual({ status: 404, body: "not found" });
    expect(upstreamsFor("/parley.notification.v1.DevMailboxService/ListDevMail").values().next().value).toMatch(
      new RegExp(`^(${portsOf("notification").join("|")})$`),
    );
  });

  // Mailed by whichever notification replica took identity's event from NATS.
  const signUp = (username: string) =>
    signUpPerson(c().url, username, (email) =>
      smtp!.verificationToken(email, 20_000).catch((err: unknown) => {
        throw new Error(`no verification mail for ${email}:\n${c().tail()}`, { cause: err });
      }),
    );

  function connect(person: Person, cursors: Record<string, bigint>) {
    const messages: Message[] = [];
    const welcomes: Welcome[] = [];
    let synced = 0;
    const client = new RealtimeClient({
      url: c().wsUrl,
      WebSocket: NodeWebSocket,
      getAccessToken: async () => (await person.session.accessToken()) ?? "",
      cursors,
    });
    clients.push(client);
    client.on("message", (m) => messages.push(m));
    client.on("welcome", (w) => welcomes.push(w));
    client.on("synced", () => synced++);
    return { client, messages, welcomes, synced: () => synced };
  }

  let alice: Person;
  let bob: Person;
  let conversationId = "";
  let a: ReturnType<typeof connect>;
  let b: ReturnType<typeof connect>;

  it("registers (SMTP verification), befriends and opens a direct chat, all through nginx", async () => {
    const n = Date.now() % 100_000;
    alice = await signUp(`nalice${n}`);
    bob = await signUp(`nbob${n}`);
    await befriend(alice, bob);
    // Chat learns the friendship from identity's event (NATS) on whichever replica consumes it.
    conversationId = await openDirect(alice, bob);
    expect(conversationId).not.toBe("");
  });

  it("each client lands on its own edge through /ws and they chat both ways", async () => {
    a = connect(alice, { [conversationId]: 0n });
    await waitFor(() => a.synced() > 0, { timeoutMs: 15_000 }).catch((err: unknown) => {
      throw new Error(`Alice never synced:\n${c().tail()}`, { cause: err });
    });
    // least_conn: the second socket goes to the edge with none.
    b = connect(bob, { [conversationId]: 0n });
    await waitFor(() => b.synced() > 0, { timeoutMs: 15_000 });
    const nodes = [a.welcomes[0]?.nodeId, b.welcomes[0]?.nodeId];
    expect(new Set(nodes).size).toBe(2);
    expect([...nodes].sort()).toEqual(["edge-a", "edge-b"]);

    await alice.api.messages.sendMessage({ conversationId, clientMessageId: "a-1", text: "hi Bob" });
    await waitFor(() => b.messages.some((m) => m.text === "hi Bob"), { timeoutMs: 10_000 });
    await bob.api.messages.sendMessage({ conversationId, clientMessageId: "b-1", text: "hi Alice" });
    await waitFor(() => a.messages.length >= 2 && b.messages.length >= 2, { timeoutMs: 10_000 });
    expect(a.messages.map((m) => m.seq)).toEqual([1n, 2n]);
    expect(b.messages.map((m) => m.seq)).toEqual([1n, 2n]);
  });

  it("SIGKILL on Alice's edge mid-conversation: she reconnects through nginx to the other edge, nothing lost", async () => {
    const dead = a.welcomes[0]!.nodeId;
    const other = dead === "edge-a" ? "edge-b" : "edge-a";
    const before = a.welcomes.length;
    const sentTexts: string[] = [];
    let sentWhileAway = 0;
    // Both keep talking; the crash comes between two of Bob's messages.
    for (let i = 0; i < 150; i++) {
      if (i === 2) {
        await c().kill(dead);
        // Her socket's close reaches her through nginx a moment later; from then on Bob's messages
        // are sent while she is away (her reconnect waits a backoff delay first).
        await waitFor(() => a.client.state !== "open", { timeoutMs: 10_000, intervalMs: 5 });
      }
      const away = a.welcomes.length === before || a.client.state !== "open";
      const text = `bob ${i}`;
      await bob.api.messages.sendMessage({ conversationId, clientMessageId: `b-loop-${i}`, text });
      sentTexts.push(text);
      if (i >= 2 && away) sentWhileAway++;
      if (i >= 2 && !away && sentTexts.length >= 6) break;
      // Below the "send" policy's sustained 10/s.
      await new Promise((resolve) => setTimeout(resolve, 120));
    }
    expect(c().alive(dead)).toBe(false);
    expect(a.welcomes.length, c().tail()).toBeGreaterThan(before);
    expect(a.welcomes.at(-1)?.nodeId).toBe(other);
    expect(sentWhileAway).toBeGreaterThan(0);
    await alice.api.messages.sendMessage({ conversationId, clientMessageId: "a-back", text: "back" });
    sentTexts.push("back");

    const expected = 2 + sentTexts.length;
    await waitFor(() => a.messages.length >= expected && b.messages.length >= expected, { timeoutMs: 15_000 }).catch((err: unknown) => {
      throw new Error(`Alice has ${a.messages.length}, Bob ${b.messages.length} of ${expected} messages:\n${c().tail()}`, { cause: err });
    });
    // Every message exactly once, in order, no gap, on both sides.
    const all = Array.from({ length: expected }, (_, i) => BigInt(i + 1));
    expect(a.messages.map((m) => m.seq)).toEqual(all);
    expect(b.messages.map((m) => m.seq)).toEqual(all);
    expect(a.messages.slice(2).map((m) => m.text)).toEqual(sentTexts);
    expect(a.client.state).toBe("open");
  });

  it("the cluster restarts the killed edge on its ports and stops everything it started", async () => {
    const dead = c().processes().find((p) => !c().alive(p.name));
    expect(dead?.service).toBe("realtime");
    await c().start(dead!.name);
    expect(c().alive(dead!.name)).toBe(true);
    for (const client of clients) client.close();
    await c().stopAll(10_000);
    for (const p of c().processes()) expect(c().alive(p.name), p.name).toBe(false);
    const nginxUp = await fetch(`${c().url}/config.json`).then(() => true, () => false);
    expect(nginxUp).toBe(false);
  });
});
