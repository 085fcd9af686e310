/**
 * The web client, unchanged, against `make cluster` (scripts/cluster): two replicas per service
 * and two edges behind nginx at one URL. Two people in two browsers land on different edges
 * through /ws; one edge is SIGKILLed mid-conversation and that browser reconnects through nginx
 * to the other edge and shows everything sent meanwhile.
 *
 * Needs the real Postgres / NATS / Redis and nginx: runs only with PARLEY_TEST_REAL=1.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { fromBinary } from "@bufbuild/protobuf";
import { ServerFrameSchema } from "@parley/gen/parley/realtime/v1/frames_pb";
import { createParleyClient, createSession, type ParleyClient } from "@parley/sdk";
import { createTestDatabase, deleteBusNamespace, deleteRedisKeys, waitFor } from "@parley/platform/testing";
import { startCluster, type Cluster } from "../../scripts/cluster/index.js";
import { launchChromium, logIn, makeUser, messageText, newPerson, sendMessage, type TestUser } from "./harness.js";

const REAL = process.env.PARLEY_TEST_REAL === "1";
const NATS_URL = "nats://127.0.0.1:4222";
const REDIS_URL = "redis://127.0.0.1:6379";

interface Person {
  user: TestUser;
  id: string;
  api: ParleyClient;
  page?: Page;
  /** NODE_ID of every edge that welcomed this page's sockets, in order. */
  edges: string[];
}

describe.skipIf(!REAL)("the web client against make cluster (nginx, replicas)", () => {
  const runId = Date.now().toString(36).slice(-5);
  const namespace = `bcluster_${runId}`;
  const stateDir = mkdtempSync(join(tmpdir(), "parley-bcluster-"));
  let cluster: Cluster;
  let browser: Browser;
  let db: { url: string; drop: () => Promise<void> } | undefined;
  let dana: Person;
  let eli: Person;
  let conversationId = "";

  /** Verification is off in this cluster (no SMTP_URL): register, then log in. */
  async function person(name: string): Promise<Person> {
    const user = makeUser(name, runId);
    const anonymous = createParleyClient({ baseUrl: cluster.url });
    await anonymous.auth.register({ email: user.email, username: user.username, password: user.password, displayName: user.displayName });
    const session = createSession(anonymous);
    const me = await session.login(user.username, user.password);
    if (!me) throw new Error(`${user.username} could not log in`);
    return { user, id: me.id, api: createParleyClient({ baseUrl: cluster.url, getAccessToken: () => session.accessToken() }), edges: [] };
  }

  async function openBrowser(p: Person): Promise<Page> {
    const { page } = await newPerson(browser, cluster.url);
    page.on("websocket", (ws) => {
      ws.on("framereceived", ({ payload }) => {
        if (typeof payload === "string") return;
        const frame = fromBinary(ServerFrameSchema, new Uint8Array(payload));
        if (frame.kind.case === "welcome") p.edges.push(frame.kind.value.nodeId);
      });
    });
    await logIn(page, p.user);
    await page.goto(`/chats/${conversationId}`);
    await page.locator('[data-connection="open"]').waitFor();
    p.page = page;
    return page;
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    cluster = await startCluster({ stateDir, port: 0, databaseUrl: db.url, natsUrl: NATS_URL, redisUrl: REDIS_URL, namespace, env: { RATE_LIMIT_SCALE: "10" }, log: () => undefined });
    browser = await launchChromium();
    [dana, eli] = await Promise.all([person("Dana"), person("Eli")]);
    const request = await dana.api.friends.sendFriendRequest({ target: { case: "userId", value: eli.id } });
    await eli.api.friends.respondToFriendRequest({ requestId: request.request!.id, accept: true });
    await waitFor(async () => {
      conversationId = (await dana.api.conversations.openDirect({ userId: eli.id })).conversation?.id ?? "";
      return conversationId !== "";
    }, { timeoutMs: 15_000 });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await cluster?.stopAll(10_000);
    await db?.drop().catch(() => undefined);
    await deleteRedisKeys(REDIS_URL, `${namespace}:`).catch(() => undefined);
    await deleteBusNamespace(NATS_URL, namespace).catch(() => undefined);
    rmSync(stateDir, { recursive: true, force: true });
  }, 30_000);

  it("two browsers at the one URL land on different edges and chat", async () => {
    const danaPage = await openBrowser(dana);
    const eliPage = await openBrowser(eli);
    expect([dana.edges[0], eli.edges[0]].sort()).toEqual(["edge-a", "edge-b"]);
    await sendMessage(danaPage, "Hello from Dana's browser");
    await messageText(eliPage, "Hello from Dana's browser").waitFor();
    await sendMessage(eliPage, "Hi Dana, from Eli's browser");
    await messageText(danaPage, "Hi Dana, from Eli's browser").waitFor();
  });

  it("SIGKILL on Dana's edge: her browser reconnects through nginx to the other edge and shows what Eli sent", async () => {
    const dead = dana.edges.at(-1)!;
    const before = dana.edges.length;
    await cluster.kill(dead);
    await eli.api.messages.sendMessage({ conversationId, clientMessageId: "while-down-1", text: "Sent while your edge was down" });
    await sendMessage(eli.page!, "And one more from the browser");
    await waitFor(() => dana.edges.length > before, { timeoutMs: 20_000 }).catch((err: unknown) => {
      throw new Error(`Dana's browser never got a new welcome:\n${cluster.tail()}`, { cause: err });
    });
    expect(dana.edges.at(-1)).not.toBe(dead);
    await messageText(dana.page!, "Sent while your edge was down").waitFor();
    await messageText(dana.page!, "And one more from the browser").waitFor();
    await sendMessage(dana.page!, "Back, on the other edge");
    await messageText(eli.page!, "Back, on the other edge").waitFor();
    // Nothing shown twice after the resume.
    expect(await messageText(dana.page!, "Sent while your edge was down").count()).toBe(1);
  });
});
