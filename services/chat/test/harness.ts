/**
 * Shared test setup: the chat service over real HTTP, users as UUIDs with real
 * JWTs, the social graph driven by identity's real events on the bus, and an
 * observer that records every chat event the outbox relay publishes.
 */
import { randomUUID } from "node:crypto";
import { create, fromBinary, toBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { count, type SQL } from "drizzle-orm";
import type { PgTable } from "drizzle-orm/pg-core";
import { ConversationService } from "@parley/gen/parley/chat/v1/conversation_pb";
import { MessageService } from "@parley/gen/parley/chat/v1/message_pb";
import { BlockEventSchema, FriendshipEventSchema } from "@parley/gen/parley/identity/v1/events_pb";
import type { BusMessage, Subscription } from "@parley/platform";
import { bearer, createTestPlatform, startTestServer, waitFor, type TestPlatform, type TestServer } from "@parley/platform/testing";
import { createChatService } from "../src/index.js";
import { blockedEitherWay, friendsAmong } from "../src/store/social-graph.js";

export interface TestUser {
  id: string;
  conversations: Client<typeof ConversationService>;
  messages: Client<typeof MessageService>;
}

export interface ChatHarness {
  platform: TestPlatform;
  server: TestServer;
  /** Every event published on `parley.chat.>`, in arrival order. */
  events: BusMessage[];
  user(): Promise<TestUser>;
  befriend(a: TestUser, b: TestUser): Promise<void>;
  unfriend(a: TestUser, b: TestUser): Promise<void>;
  block(blocker: TestUser, blocked: TestUser): Promise<void>;
  unblock(blocker: TestUser, blocked: TestUser): Promise<void>;
  rows(table: PgTable, where?: SQL): Promise<number>;
  /** Waits for an event on `subject` matching `match`, and returns it decoded. */
  waitForEvent<Desc extends DescMessage>(
    subject: string,
    schema: Desc,
    match: (event: MessageShape<Desc>) => boolean,
  ): Promise<MessageShape<Desc>>;
  close(): Promise<void>;
}

export async function startChat(): Promise<ChatHarness> {
  const platform = await createTestPlatform();
  const { deps } = platform;
  // Tests fire dozens of sends at once from one user ("send" allows 30 at once): lift the
  // per-user limits like a load test does (the limits themselves are tested in the platform).
  deps.config.rateLimitScale = 100;
  const chat = await createChatService(deps);
  const server = await startTestServer(deps, [chat]);
  const events: BusMessage[] = [];
  const observer: Subscription = await deps.bus.consume({
    durable: "chat-test-observer",
    subjects: ["parley.chat.>"],
    handler: async (msg) => {
      events.push(msg);
    },
  });
  const db = deps.database.db;

  async function publish(subject: string, data: Uint8Array): Promise<void> {
    await deps.bus.publish(subject, data, randomUUID());
  }
  const friendship = (a: TestUser, b: TestUser) => {
    const [x, y] = a.id < b.id ? [a.id, b.id] : [b.id, a.id];
    return toBinary(FriendshipEventSchema, create(FriendshipEventSchema, { userAId: x, userBId: y }));
  };
  const blockEvent = (blocker: TestUser, blocked: TestUser) =>
    toBinary(BlockEventSchema, create(BlockEventSchema, { blockerId: blocker.id, blockedId: blocked.id }));
  const areFriends = async (a: TestUser, b: TestUser) => (await friendsAmong(db, a.id, [b.id])).has(b.id);

  return {
    platform,
    server,
    events,
    async user() {
      const id = randomUUID();
      const transport = createConnectTransport({
        baseUrl: server.baseUrl,
        httpVersion: "1.1",
        interceptors: [bearer(await platform.mintAccessToken(id))],
      });
      return { id, conversations: createClient(ConversationService, transport), messages: createClient(MessageService, transport) };
    },
    async befriend(a, b) {
      await publish("parley.identity.friendship.created", friendship(a, b));
      await waitFor(() => areFriends(a, b));
    },
    async unfriend(a, b) {
      await publish("parley.identity.friendship.removed", friendship(a, b));
      await waitFor(async () => !(await areFriends(a, b)));
    },
    async block(blocker, blocked) {
      await publish("parley.identity.block.created", blockEvent(blocker, blocked));
      await waitFor(() => blockedEitherWay(db, blocker.id, blocked.id));
    },
    async unblock(blocker, blocked) {
      await publish("parley.identity.block.removed", blockEvent(blocker, blocked));
      await waitFor(async () => !(await blockedEitherWay(db, blocker.id, blocked.id)));
    },
    async rows(table, where) {
      const [row] = await db.select({ n: count() }).from(table).where(where);
      return row?.n ?? 0;
    },
    async waitForEvent(subject, schema, match) {
      let found: MessageShape<typeof schema> | undefined;
      await waitFor(
        () => {
          for (const msg of events) {
            if (msg.subject !== subject) continue;
            const event = fromBinary(schema, msg.data);
            if (match(event)) {
              found = event;
              return true;
            }
          }
          return false;
        },
        { timeoutMs: 10_000 },
      );
      if (found === undefined) throw new Error(`no ${subject} event matched`);
      return found;
    },
    async close() {
      await observer.stop();
      await server.close();
      await platform.close();
    },
  };
}

/** Friends with everyone in `others`. */
export async function befriendAll(h: ChatHarness, me: TestUser, others: TestUser[]): Promise<void> {
  for (const other of others) await h.befriend(me, other);
}
