/**
 * Realtime test setup: identity + chat (+ notification with `{ notification: true }`)
 * for real on one Connect server, one or
 * more edge nodes (different nodeIds, same backends), accounts made through
 * identity's real register/verify/login flow, and SDK RealtimeClients over
 * real WebSockets (`ws`).
 */
import { randomBytes } from "node:crypto";
import { createClient, type Client, type Transport } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { ConversationService, type Conversation } from "@parley/gen/parley/chat/v1/conversation_pb";
import { MessageService, type Message } from "@parley/gen/parley/chat/v1/message_pb";
import { AuthService } from "@parley/gen/parley/identity/v1/auth_pb";
import { UserRegisteredEventSchema } from "@parley/gen/parley/identity/v1/events_pb";
import { FriendService } from "@parley/gen/parley/identity/v1/friend_pb";
import { NotificationService, type Notification } from "@parley/gen/parley/notification/v1/notification_pb";
import type { ConversationChanged, FriendEvent, PresenceChanged, ReadReceipt, Typing, ServerFrame } from "@parley/gen/parley/realtime/v1/frames_pb";
import { decodeEvent, type BusMessage, type EventBus, type PlatformDeps, type Subscription } from "@parley/platform";
import { bearer, createTestPlatform, openVerificationToken, startTestServer, waitFor, type TestPlatform, type TestServer } from "@parley/platform/testing";
import { createChatService } from "@parley/chat";
import { createIdentityService } from "@parley/identity";
import { createNotificationService } from "@parley/notification";
import { NodeWebSocket } from "@parley/sdk/node";
import { RealtimeClient, type GapInfo, type RealtimeClientOptions, type RealtimeError, type SyncedInfo } from "@parley/sdk/realtime/index";
import { createRealtimeService, type RealtimeModule, type RealtimeTuning } from "../src/index.js";

export const PASSWORD = "correct horse 42";

export interface Account {
  id: string;
  username: string;
  accessToken: string;
  refreshToken: string;
  auth: Client<typeof AuthService>;
  friends: Client<typeof FriendService>;
  conversations: Client<typeof ConversationService>;
  messages: Client<typeof MessageService>;
  /** Answers only on a harness started with `{ notification: true }`. */
  notifications: Client<typeof NotificationService>;
}

export interface Recorder {
  client: RealtimeClient;
  messages: Message[];
  edited: Message[];
  deleted: Message[];
  notifications: Notification[];
  readReceipts: ReadReceipt[];
  conversations: ConversationChanged[];
  presence: PresenceChanged[];
  typing: Typing[];
  friends: FriendEvent[];
  gaps: GapInfo[];
  errors: RealtimeError[];
  synced: number;
  /** What each `synced` event carried, in order. */
  syncs: SyncedInfo[];
  welcomes: string[];
  close(): void;
}

export interface EdgeHarness {
  tp: TestPlatform;
  deps: PlatformDeps;
  server: TestServer;
  nodes: RealtimeModule[];
  account(prefix?: string): Promise<Account>;
  befriend(a: Account, b: Account): Promise<void>;
  direct(a: Account, b: Account): Promise<Conversation>;
  group(owner: Account, members: Account[]): Promise<Conversation>;
  startNode(nodeId: string, tuning?: Partial<RealtimeTuning>): Promise<RealtimeModule>;
  wsUrl(node: RealtimeModule): string;
  connect(account: Account, opts?: Partial<RealtimeClientOptions> & { node?: RealtimeModule }): Recorder;
  close(): Promise<void>;
}

export const testTuning: Partial<RealtimeTuning> = {
  resendAfterMs: 400,
  tokenCheckMs: 100,
  presenceHeartbeatMs: 1_000,
  drainBatchIntervalMs: 10,
  drainAckWaitMs: 200,
  drainRetryAfterMs: 100,
};

export async function startEdgeHarness(
  opts: { tuning?: Partial<RealtimeTuning>; bus?: (deps: PlatformDeps) => Promise<EventBus>; notification?: boolean } = {},
): Promise<EdgeHarness> {
  const tp = await createTestPlatform();
  // Tests send 1,000 messages from one user: lift the per-user limits like a load test does.
  tp.deps.config.rateLimitScale = 10_000;
  const deps: PlatformDeps = opts.bus ? { ...tp.deps, bus: await opts.bus(tp.deps) } : tp.deps;
  const identity = await createIdentityService(deps);
  const chat = await createChatService(deps);
  const services = opts.notification ? [identity, chat, await createNotificationService(deps)] : [identity, chat];
  const server = await startTestServer(deps, services);
  const registered: BusMessage[] = [];
  const recorder: Subscription = await deps.bus.consume({
    durable: "realtime-test-registrations",
    subjects: ["parley.identity.user.registered"],
    handler: async (msg) => {
      registered.push(msg);
    },
  });
  const nodes: RealtimeModule[] = [];
  const recorders: Recorder[] = [];
  const transportFor = (token: string): Transport =>
    createConnectTransport({ baseUrl: server.baseUrl, httpVersion: "1.1", interceptors: [bearer(token)] });
  const anonAuth = createClient(AuthService, server.connect);

  const harness: EdgeHarness = {
    tp,
    deps,
    server,
    nodes,
    async account(prefix = "u") {
      const username = `${prefix}${randomBytes(4).toString("hex")}`;
      const email = `${username}@example.com`;
      await anonAuth.register({ email, username, password: PASSWORD, displayName: username });
      let token = "";
      await waitFor(() => {
        const event = registered.map((m) => decodeEvent(UserRegisteredEventSchema, m)).find((e) => e.email === email);
        token = event ? openVerificationToken(tp.deps.config, event) : "";
        return token !== "";
      });
      await anonAuth.verifyEmail({ token });
      const login = await anonAuth.login({ login: username, password: PASSWORD });
      const transport = transportFor(login.accessToken);
      return {
        id: login.user!.id,
        username,
        accessToken: login.accessToken,
        refreshToken: login.refreshToken,
        auth: createClient(AuthService, transport),
        friends: createClient(FriendService, transport),
        conversations: createClient(ConversationService, transport),
        messages: createClient(MessageService, transport),
        notifications: createClient(NotificationService, transport),
      };
    },
    async befriend(a, b) {
      const { request } = await a.friends.sendFriendRequest({ target: { case: "userId", value: b.id } });
      await b.friends.respondToFriendRequest({ requestId: request!.id, accept: true });
    },
    async direct(a, b) {
      let conversation: Conversation | undefined;
      // Chat learns the friendship from identity's event: wait for its projection.
      await waitFor(async () => {
        conversation = (await a.conversations.openDirect({ userId: b.id })).conversation;
      });
      return conversation!;
    },
    async group(owner, members) {
      let conversation: Conversation | undefined;
      await waitFor(async () => {
        conversation = (await owner.conversations.createGroup({ title: "group", memberIds: members.map((m) => m.id) })).conversation;
      });
      return conversation!;
    },
    async startNode(nodeId, tuning) {
      const nodeDeps: PlatformDeps = { ...deps, config: { ...deps.config, nodeId } };
      const node = await createRealtimeService(nodeDeps, {
        chat: server.connect,
        identity: server.connect,
        port: 0,
        host: "127.0.0.1",
        tuning: { ...testTuning, ...opts.tuning, ...tuning },
      });
      await node.start();
      nodes.push(node);
      return node;
    },
    wsUrl(node) {
      return `ws://127.0.0.1:${node.wsPort()}/ws`;
    },
    connect(account, o = {}) {
      const node = o.node ?? nodes[0]!;
      const client = new RealtimeClient({
        url: o.url ?? harness.wsUrl(node),
        getAccessToken: async () => account.accessToken,
        WebSocket: NodeWebSocket,
        backoff: { baseMs: 50, capMs: 500 },
        gapHoldMs: 1_000,
        ...o,
      });
      const r: Recorder = {
        client,
        messages: [],
        edited: [],
        deleted: [],
        notifications: [],
        readReceipts: [],
        conversations: [],
        presence: [],
        typing: [],
        friends: [],
        gaps: [],
        errors: [],
        synced: 0,
        syncs: [],
        welcomes: [],
        close: () => client.close(),
      };
      client.on("message", (m) => r.messages.push(m));
      client.on("messageEdited", (m) => r.edited.push(m));
      client.on("conversation", (c) => r.conversations.push(c));
      client.on("presence", (p) => r.presence.push(p));
      client.on("typing", (t) => r.typing.push(t));
      client.on("friend", (f) => r.friends.push(f));
      client.on("gap", (g) => r.gaps.push(g));
      client.on("error", (e) => r.errors.push(e));
      client.on("messageDeleted", (m) => r.deleted.push(m));
      client.on("notification", (n) => r.notifications.push(n));
      client.on("readReceipt", (x) => r.readReceipts.push(x));
      client.on("synced", (info) => {
        r.synced++;
        r.syncs.push(info);
      });
      client.on("welcome", (w) => r.welcomes.push(w.nodeId));
      recorders.push(r);
      return r;
    },
    async close() {
      for (const r of recorders) r.close();
      for (const n of nodes) await n.stop();
      await recorder.stop();
      await server.close();
      if (deps.bus !== tp.deps.bus) await deps.bus.close();
      await tp.close();
    },
  };
  return harness;
}

/** Waits until the recorder has been welcomed and caught up `times` times. */
export async function synced(r: Recorder, times = 1, timeoutMs = 10_000): Promise<void> {
  await waitFor(() => r.synced >= times, { timeoutMs });
}

export function texts(messages: Message[]): string[] {
  return messages.map((m) => m.text);
}

export function seqs(messages: Message[]): number[] {
  return messages.map((m) => Number(m.seq));
}

export async function send(from: Account, conversationId: string, text: string): Promise<Message> {
  const res = await from.messages.sendMessage({ conversationId, text, clientMessageId: `${text}-${randomBytes(4).toString("hex")}` });
  return res.message!;
}

export type { ServerFrame };
