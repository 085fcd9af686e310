/**
 * Issue 7, item 10: every paginated method parses its page_token strictly.
 * Tokens the old parsers let through to the database (a "UUID" of 36 dashes,
 * a timestamp no Date can hold) answered `internal`; now every malformed or
 * foreign token is `invalid_argument`, over real HTTP against the product.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import type { EmbeddedParley } from "@parley/embedded";
import { ConversationService } from "@parley/gen/parley/chat/v1/conversation_pb";
import { MessageService } from "@parley/gen/parley/chat/v1/message_pb";
import { FriendService } from "@parley/gen/parley/identity/v1/friend_pb";
import { UserService } from "@parley/gen/parley/identity/v1/user_service_pb";
import { NotificationService } from "@parley/gen/parley/notification/v1/notification_pb";
import { bearer } from "@parley/platform/testing";
import { startParley } from "./support/parley.js";

const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64url");
const envelope = (v: number, k: string, p: unknown) => b64(JSON.stringify({ v, k, p }));

/** Each of these once reached a query (or was silently accepted); all must be refused. */
const malformed: Record<string, string> = {
  "old chat format, 36 dashes for an id": b64(JSON.stringify([Date.now(), "-".repeat(36)])),
  "old chat format, time out of range": b64(JSON.stringify([1e300, "00000000-0000-4000-8000-000000000000"])),
  "old notification format, time out of range": b64(`9000000000000000:${randomUUID()}`),
  "old identity format": b64("o20"),
  "not base64url": "!!!not a token!!!",
  "non-canonical base64url (trailing bits)": `${envelope(1, "chat.conversations", [0, randomUUID()])}B`,
  "padding": `${b64("x")}==`,
  "far too long": "A".repeat(5_000),
  "not JSON": b64("{not json"),
  "unknown version": envelope(2, "chat.conversations", [Date.now(), randomUUID()]),
  "extra envelope field": b64(JSON.stringify({ v: 1, k: "identity.offset", p: 0, x: 1 })),
  "negative offset": envelope(1, "identity.offset", -1),
  "fractional offset": envelope(1, "identity.offset", 1.5),
  "huge offset": envelope(1, "identity.offset", 1e12),
  "upper-case UUID": envelope(1, "notification.feed", [Date.now(), randomUUID().toUpperCase()]),
  "fractional time": envelope(1, "chat.message-search", [Date.now() + 0.5, randomUUID()]),
};

let parley: EmbeddedParley;
let conversations: Client<typeof ConversationService>;
let messages: Client<typeof MessageService>;
let friends: Client<typeof FriendService>;
let users: Client<typeof UserService>;
let notifications: Client<typeof NotificationService>;

beforeAll(async () => {
  // 16 malformed tokens per method in a row: more than the search policy's burst, which is not under test here.
  parley = await startParley({ RATE_LIMIT_SCALE: "100" });
  const { token } = await parley.deps.signer!.signAccess({ userId: randomUUID(), sessionId: `s-${randomUUID()}` });
  const transport = createConnectTransport({ baseUrl: parley.apiUrl, httpVersion: "1.1", interceptors: [bearer(token)] });
  conversations = createClient(ConversationService, transport);
  messages = createClient(MessageService, transport);
  friends = createClient(FriendService, transport);
  users = createClient(UserService, transport);
  notifications = createClient(NotificationService, transport);
});
afterAll(async () => {
  await parley?.close();
});

/** Every paginated method, called with `pageToken`. */
const methods: Record<string, (pageToken: string) => Promise<{ nextPageToken: string }>> = {
  ListConversations: (pageToken) => conversations.listConversations({ pageToken }),
  SearchMessages: (pageToken) => messages.searchMessages({ query: "hello", pageToken }),
  ListFriendRequests: (pageToken) => friends.listFriendRequests({ pageToken }),
  ListFriends: (pageToken) => friends.listFriends({ pageToken }),
  SearchUsers: (pageToken) => users.searchUsers({ query: "ada", pageToken }),
  ListNotifications: (pageToken) => notifications.listNotifications({ pageToken }),
};

describe("malformed page tokens", () => {
  for (const [method, call] of Object.entries(methods)) {
    it(`${method} answers invalid_argument for every malformed token`, async () => {
      for (const [name, token] of Object.entries(malformed)) {
        const err = await call(token).then(
          () => undefined,
          (e: unknown) => ConnectError.from(e),
        );
        expect(err?.code, `${method} with ${name}`).toBe(Code.InvalidArgument);
        expect(err?.rawMessage).toMatch(/page_token/);
      }
      // The first page still works.
      await expect(call("")).resolves.toBeDefined();
    });
  }

  it("accepts its own next_page_token and refuses it on another list", async () => {
    for (let i = 0; i < 3; i++) await conversations.createGroup({ title: `page ${i}`, memberIds: [] });
    const first = await conversations.listConversations({ pageSize: 2 });
    expect(first.nextPageToken).not.toBe("");
    const second = await conversations.listConversations({ pageSize: 2, pageToken: first.nextPageToken });
    expect(second.conversations).toHaveLength(1);
    expect(second.conversations[0]?.id).not.toBe(first.conversations[0]?.id);
    await expect(messages.searchMessages({ query: "hello", pageToken: first.nextPageToken })).rejects.toMatchObject({
      code: Code.InvalidArgument,
    });
  });
});
