/**
 * identity + chat + notification on one real test server, with generated
 * Connect clients. Accounts are registered through AuthService and verified
 * with the link the notification service mailed (dev mailbox or SMTP sink).
 */
import { createClient, type Client, type Transport } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { AuthService } from "@parley/gen/parley/identity/v1/auth_pb";
import { FriendService } from "@parley/gen/parley/identity/v1/friend_pb";
import { ConversationService } from "@parley/gen/parley/chat/v1/conversation_pb";
import { MessageService } from "@parley/gen/parley/chat/v1/message_pb";
import {
  DevMailboxService,
  NotificationService,
  type Notification,
  type NotificationKind,
} from "@parley/gen/parley/notification/v1/notification_pb";
import { createChatService } from "@parley/chat";
import { createIdentityService } from "@parley/identity";
import type { Logger } from "@parley/platform";
import { bearer, createTestPlatform, startTestServer, waitFor, type TestPlatform, type TestServer } from "@parley/platform/testing";
import { createNotificationService } from "../src/index.js";

export const PASSWORD = "correct horse 42";

export interface Clients {
  auth: Client<typeof AuthService>;
  friends: Client<typeof FriendService>;
  conversations: Client<typeof ConversationService>;
  messages: Client<typeof MessageService>;
  notifications: Client<typeof NotificationService>;
  devMailbox: Client<typeof DevMailboxService>;
}

export interface Stack {
  tp: TestPlatform;
  server: TestServer;
  anon: Clients;
  clientsFor(token: string): Clients;
  close(): Promise<void>;
}

export interface Account {
  id: string;
  email: string;
  username: string;
  clients: Clients;
}

function clientsOn(transport: Transport): Clients {
  return {
    auth: createClient(AuthService, transport),
    friends: createClient(FriendService, transport),
    conversations: createClient(ConversationService, transport),
    messages: createClient(MessageService, transport),
    notifications: createClient(NotificationService, transport),
    devMailbox: createClient(DevMailboxService, transport),
  };
}

export interface StackOptions {
  /** Set = real mail to that server; unset = the dev mailbox (unless devMailbox is false). */
  smtpUrl?: string;
  /** DEV_MAILBOX; the test platform turns it on. */
  devMailbox?: boolean;
  /** EMAIL_VERIFICATION; default on. */
  emailVerification?: boolean;
  /** Replaces the platform's (silent) logger, e.g. to read what the services log. */
  logger?: Logger;
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const tp = await createTestPlatform();
  // Every call of a test file comes from 127.0.0.1; the "auth" policy would stop it after 20.
  tp.deps.config.rateLimitScale = 100;
  tp.deps.config.smtpUrl = opts.smtpUrl;
  if (opts.devMailbox !== undefined) tp.deps.config.devMailbox = opts.devMailbox;
  if (opts.emailVerification !== undefined) tp.deps.config.emailVerification = opts.emailVerification;
  const deps = opts.logger ? { ...tp.deps, logger: opts.logger } : tp.deps;
  let modules;
  try {
    modules = [await createIdentityService(deps), await createChatService(deps), await createNotificationService(deps)];
  } catch (err) {
    await tp.close();
    throw err;
  }
  const server = await startTestServer(deps, modules);
  const clientsFor = (token: string) =>
    clientsOn(createConnectTransport({ baseUrl: server.baseUrl, httpVersion: "1.1", interceptors: [bearer(token)] }));
  return {
    tp,
    server,
    anon: clientsOn(server.connect),
    clientsFor,
    async close() {
      await server.close();
      await tp.close();
    },
  };
}

let accountCounter = 0;

/** Registers, verifies with the link from the dev mailbox, logs in. */
export async function createAccount(stack: Stack, name: string): Promise<Account> {
  const username = `${name}${++accountCounter}${Date.now() % 100_000}`;
  const email = `${username}@example.com`;
  await stack.anon.auth.register({ email, username, password: PASSWORD });
  const link = await linkFromDevMailbox(stack, email);
  await stack.anon.auth.verifyEmail({ token: tokenOf(link) });
  const login = await stack.anon.auth.login({ login: username, password: PASSWORD });
  return { id: login.user!.id, email, username, clients: stack.clientsFor(login.accessToken) };
}

export async function linkFromDevMailbox(stack: Stack, email: string): Promise<string> {
  let link = "";
  await waitFor(async () => {
    const { mails } = await stack.anon.devMailbox.listDevMail({ to: email });
    link = mails[0]?.link ?? "";
    return link !== "";
  });
  return link;
}

export function tokenOf(link: string): string {
  const token = new URL(link).searchParams.get("token");
  if (!token) throw new Error(`no token in ${link}`);
  return token;
}

/** Friend request from a, accepted by b; waits until chat's projection lets a put b in a group. */
export async function befriend(a: Account, b: Account): Promise<string> {
  const { request } = await a.clients.friends.sendFriendRequest({ target: { case: "userId", value: b.id } });
  await b.clients.friends.respondToFriendRequest({ requestId: request!.id, accept: true });
  return request!.id;
}

/** Creates a group, retrying while chat has not yet seen the friendships (it learns them from events). */
export async function createGroup(owner: Account, title: string, members: Account[]): Promise<string> {
  let id = "";
  await waitFor(
    async () => {
      const { conversation } = await owner.clients.conversations.createGroup({ title, memberIds: members.map((m) => m.id) });
      id = conversation!.id;
    },
    { timeoutMs: 10_000 },
  );
  return id;
}

export async function allNotifications(account: Account): Promise<Notification[]> {
  const { notifications } = await account.clients.notifications.listNotifications({ pageSize: 200 });
  return notifications;
}

/** Waits until `account` has a notification matching `match` and returns it. */
export async function waitForNotification(
  account: Account,
  kind: NotificationKind,
  match: (n: Notification) => boolean = () => true,
): Promise<Notification> {
  let found: Notification | undefined;
  await waitFor(
    async () => {
      found = (await allNotifications(account)).find((n) => n.kind === kind && match(n));
      return found !== undefined;
    },
    { timeoutMs: 10_000 },
  );
  return found!;
}
