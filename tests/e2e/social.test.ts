/**
 * Issue 2's "done when", end to end through the product: register, receive the
 * verification mail over real SMTP, verify, log in, search, befriend, chat,
 * block, log out — over the public API with the partner SDK, Connect and
 * gRPC-web protocols.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, ConnectError } from "@connectrpc/connect";
import { createParleyClient, createSession, type ParleyClient, type Session } from "@parley/sdk";
import { FriendRequestDirection } from "@parley/gen/parley/identity/v1/friend_pb";
import { NotificationKind } from "@parley/gen/parley/notification/v1/notification_pb";
import type { EmbeddedParley } from "@parley/embedded";
import { waitFor } from "@parley/platform/testing";
import { startParley } from "./support/parley.js";
import { startSmtpSink, type SmtpSink } from "@parley/platform/testing-smtp";

let parley: EmbeddedParley;
let smtp: SmtpSink;

beforeAll(async () => {
  smtp = await startSmtpSink();
  parley = await startParley({ SMTP_URL: smtp.url });
});
afterAll(async () => {
  await parley?.close();
  await smtp?.close();
});

interface Person {
  client: ParleyClient;
  session: Session;
  id: string;
}

async function signUp(username: string, protocol: "connect" | "grpc-web" = "connect"): Promise<Person> {
  const client = createParleyClient({ baseUrl: parley.apiUrl, protocol });
  const email = `${username}@example.com`;
  const password = `${username} has a long passphrase`;
  const { user } = await client.auth.register({ email, username, password, displayName: username.toUpperCase() });
  expect(user?.emailVerified).toBe(false);

  const notYet = await client.auth.login({ login: email, password }).catch((e: unknown) => ConnectError.from(e));
  expect(notYet).toBeInstanceOf(ConnectError);
  expect((notYet as ConnectError).code).toBe(Code.FailedPrecondition);

  const token = await smtp.verificationToken(email);
  const verified = await client.auth.verifyEmail({ token });
  expect(verified.user?.emailVerified).toBe(true);
  // The link is single-use.
  await expect(client.auth.verifyEmail({ token })).rejects.toMatchObject({ code: expect.any(Number) });

  const session = createSession(client);
  const me = await session.login(username, password);
  expect(me?.username).toBe(username);
  return { client, session, id: me!.id };
}

describe("a person's first day on Parley", () => {
  let ada: Person;
  let bob: Person;

  it("registers through the real mail round trip on both web protocols", async () => {
    ada = await signUp(`ada${Date.now() % 100000}`);
    bob = await signUp(`bob${Date.now() % 100000}`, "grpc-web");
    const me = await ada.client.users.getMe({});
    expect(me.user?.id).toBe(ada.id);
    expect(me.user?.email).toMatch(/@example\.com$/);
  });

  it("finds the other by username prefix without seeing their email", async () => {
    const bobName = (await bob.client.users.getMe({})).user!.username;
    const found = await ada.client.users.searchUsers({ query: bobName.slice(0, 4) });
    const hit = found.users.find((u) => u.id === bob.id);
    expect(hit).toBeDefined();
    expect(hit?.email).toBe("");
  });

  it("befriends: request, live notification, accept, both listed as friends", async () => {
    const bobName = (await bob.client.users.getMe({})).user!.username;
    const sent = await ada.client.friends.sendFriendRequest({ target: { case: "username", value: bobName } });
    const incoming = await bob.client.friends.listFriendRequests({ direction: FriendRequestDirection.INCOMING });
    expect(incoming.requests.map((r) => r.id)).toContain(sent.request!.id);

    await waitFor(async () => {
      const feed = await bob.client.notifications.listNotifications({});
      return feed.notifications.some((n) => n.kind === NotificationKind.FRIEND_REQUEST_RECEIVED && n.actorId === ada.id);
    }, { timeoutMs: 15_000 });

    await bob.client.friends.respondToFriendRequest({ requestId: sent.request!.id, accept: true });
    const adaFriends = await ada.client.friends.listFriends({});
    const bobFriends = await bob.client.friends.listFriends({});
    expect(adaFriends.friends.map((f) => f.user?.id)).toContain(bob.id);
    expect(bobFriends.friends.map((f) => f.user?.id)).toContain(ada.id);
  });

  it("chats 1-1 once chat has learned the friendship from identity's events", async () => {
    let conversationId = "";
    await waitFor(async () => {
      const r = await ada.client.conversations.openDirect({ userId: bob.id });
      conversationId = r.conversation!.id;
    }, { timeoutMs: 15_000 });
    const sent = await ada.client.messages.sendMessage({ conversationId, clientMessageId: "first-hello", text: "hello Bob" });
    expect(sent.message?.seq).toBe(1n);
    const history = await bob.client.messages.listMessages({ conversationId });
    expect(history.messages.map((m) => m.text)).toEqual(["hello Bob"]);
  });

  it("blocks: friendship gone, no messages, no requests, hidden from search", async () => {
    await bob.client.friends.blockUser({ userId: ada.id });
    const adaFriends = await ada.client.friends.listFriends({});
    expect(adaFriends.friends.map((f) => f.user?.id)).not.toContain(bob.id);

    const conv = (await ada.client.conversations.listConversations({})).conversations[0]!;
    await waitFor(async () => {
      const err = await ada.client.messages
        .sendMessage({ conversationId: conv.id, clientMessageId: `after-block-${Date.now()}`, text: "still there?" })
        .then(() => undefined, (e: unknown) => ConnectError.from(e));
      return err?.code === Code.PermissionDenied;
    }, { timeoutMs: 15_000 });

    // The blocked user is answered like for an unknown user: the block is not revealed.
    await expect(ada.client.friends.sendFriendRequest({ target: { case: "userId", value: bob.id } })).rejects.toMatchObject({
      code: Code.NotFound,
    });
    const bobName = (await bob.client.users.getMe({})).user!.username;
    const found = await ada.client.users.searchUsers({ query: bobName });
    expect(found.users.map((u) => u.id)).not.toContain(bob.id);
  });

  it("logs out: the access token stops working at once", async () => {
    const token = await ada.session.accessToken();
    await ada.session.logout();
    const stale = createParleyClient({ baseUrl: parley.apiUrl, getAccessToken: () => token });
    await expect(stale.users.getMe({})).rejects.toMatchObject({ code: Code.Unauthenticated });
  });
});
