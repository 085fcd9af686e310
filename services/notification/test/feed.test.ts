import { randomUUID } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { NotificationCreatedEventSchema, NotificationKind } from "@parley/gen/parley/notification/v1/notification_pb";
import { FriendRequestEventSchema } from "@parley/gen/parley/identity/v1/events_pb";
import { MessageEventSchema } from "@parley/gen/parley/chat/v1/events_pb";
import type { Message } from "@parley/gen/parley/chat/v1/message_pb";
import { decodeEvent, type BusMessage, type PlatformDeps, type Subscription } from "@parley/platform";
import { waitFor } from "@parley/platform/testing";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { PresenceEventSchema } from "@parley/gen/parley/realtime/v1/frames_pb";
import { FEED_CONSUMER, feedEventHandler } from "../src/events/feed-consumer.js";
import { startPresenceView, type PresenceView } from "../src/events/presence-view.js";
import { REALTIME } from "../src/events/subjects.js";
import { blocks, inbox } from "../src/store/schema.js";
import {
  allNotifications,
  befriend,
  createAccount,
  createGroup,
  startStack,
  waitForNotification,
  type Account,
  type Stack,
} from "./harness.js";

let stack: Stack;
/** Every identity, chat and notification event: to replay one as a redelivery, and to see what notification emits. */
const seen: BusMessage[] = [];
let recorder: Subscription;
/** The presence view a replayed handler asks (the service has its own, fed the same way). */
let presence: PresenceView;

beforeAll(async () => {
  stack = await startStack();
  presence = await startPresenceView(stack.tp.deps, `feed-test-${randomUUID().slice(0, 8)}`);
  recorder = await stack.tp.deps.bus.consume({
    durable: "notification-test-recorder",
    subjects: ["parley.identity.>", "parley.chat.>", "parley.notification.>"],
    handler: async (msg) => {
      seen.push(msg);
    },
  });
}, 60_000);

afterAll(async () => {
  await presence?.stop();
  await recorder?.stop();
  await stack?.close();
});

async function expectCode(call: Promise<unknown>, code: Code): Promise<ConnectError> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConnectError);
  expect(Code[(err as ConnectError).code]).toBe(Code[code]);
  return err as ConnectError;
}

/** What an edge node does when a user's first socket opens: the presence entry, then the change event. */
async function markOnline(account: Account): Promise<void> {
  await stack.tp.deps.presence.heartbeat("test-edge-node", [account.id], 60_000);
  await publishPresence(account, true);
}

/** What an edge node does when a user's last socket closes. */
async function markOffline(account: Account): Promise<void> {
  await stack.tp.deps.presence.remove("test-edge-node", account.id, Date.now());
  await publishPresence(account, false);
}

/**
 * Publishes the change and waits until this test's view heard it. The service's own view is
 * another consumer of the same subject and hears it at about the same moment, long before a
 * message sent next has gone through chat, the bus and the feed.
 */
async function publishPresence(account: Account, online: boolean): Promise<void> {
  const event = create(PresenceEventSchema, { userId: account.id, online, lastSeenAt: timestampFromMs(Date.now()), recipientIds: [] });
  await stack.tp.deps.bus.publish(REALTIME.presenceChanged, toBinary(PresenceEventSchema, event), randomUUID());
  await waitFor(async () => (await presence.offlineOf([account.id])).length === (online ? 0 : 1));
}

describe("friend requests", () => {
  it("notifies the receiver of a request and the sender of its acceptance", async () => {
    const alice = await createAccount(stack, "alice");
    const bob = await createAccount(stack, "bob");
    const requestId = await befriend(alice, bob);

    const received = await waitForNotification(bob, NotificationKind.FRIEND_REQUEST_RECEIVED);
    expect(received).toMatchObject({ actorId: alice.id, friendRequestId: requestId, read: false });
    const accepted = await waitForNotification(alice, NotificationKind.FRIEND_REQUEST_ACCEPTED);
    expect(accepted).toMatchObject({ actorId: bob.id, friendRequestId: requestId });
    // The actor is never notified of their own action.
    expect((await allNotifications(alice)).map((n) => n.kind)).toEqual([NotificationKind.FRIEND_REQUEST_ACCEPTED]);
    expect((await allNotifications(bob)).map((n) => n.kind)).toEqual([NotificationKind.FRIEND_REQUEST_RECEIVED]);

    // Each stored notification is also published, for the realtime edge to push live.
    await waitFor(() =>
      seen
        .filter((m) => m.subject === "parley.notification.notification.created")
        .map((m) => decodeEvent(NotificationCreatedEventSchema, m))
        .some((e) => e.userId === bob.id && e.notification?.id === received.id && e.notification.actorId === alice.id),
    );
  });

  it("does not duplicate a notification when the event is delivered again", async () => {
    const carol = await createAccount(stack, "carol");
    const dave = await createAccount(stack, "dave");
    const requestId = await befriend(carol, dave);
    await waitForNotification(dave, NotificationKind.FRIEND_REQUEST_RECEIVED);

    let original: BusMessage | undefined;
    await waitFor(() => {
      original = seen.find(
        (m) => m.subject === "parley.identity.friend_request.created" && decodeEvent(FriendRequestEventSchema, m).requestId === requestId,
      );
      return original !== undefined;
    });
    const redeliver = feedEventHandler(stack.tp.deps, presence, stack.tp.deps.logger);
    await redeliver({ ...original!, deliveryCount: 2 });
    await redeliver({ ...original!, deliveryCount: 3 });
    const received = (await allNotifications(dave)).filter((n) => n.kind === NotificationKind.FRIEND_REQUEST_RECEIVED);
    expect(received).toHaveLength(1);
  });
});

describe("groups and messages", () => {
  let owner: Account;
  let online: Account;
  let offline: Account;
  let conversationId: string;

  beforeAll(async () => {
    owner = await createAccount(stack, "owner");
    online = await createAccount(stack, "online");
    offline = await createAccount(stack, "offline");
    await befriend(owner, online);
    await befriend(owner, offline);
    conversationId = await createGroup(owner, "Book club", [online, offline]);
  }, 60_000);

  it("tells each added member, not the creator, with the group title", async () => {
    for (const member of [online, offline]) {
      const n = await waitForNotification(member, NotificationKind.ADDED_TO_GROUP);
      expect(n).toMatchObject({ actorId: owner.id, conversationId, preview: "Book club" });
    }
    expect((await allNotifications(owner)).some((n) => n.kind === NotificationKind.ADDED_TO_GROUP)).toBe(false);
  });

  it("notifies members added later", async () => {
    const late = await createAccount(stack, "late");
    await befriend(owner, late);
    await waitFor(async () => {
      await owner.clients.conversations.addMembers({ conversationId, userIds: [late.id] });
    }, { timeoutMs: 10_000 });
    const n = await waitForNotification(late, NotificationKind.ADDED_TO_GROUP);
    expect(n).toMatchObject({ actorId: owner.id, conversationId, preview: "Book club" });
  });

  it("creates NEW_MESSAGE only for offline members other than the sender", async () => {
    await markOnline(online);
    const { message } = await owner.clients.messages.sendMessage({ conversationId, clientMessageId: randomUUID(), text: "Chapter 3 tonight?" });
    const n = await waitForNotification(offline, NotificationKind.NEW_MESSAGE, (x) => x.messageId === message!.id);
    expect(n).toMatchObject({ actorId: owner.id, conversationId, preview: "Chapter 3 tonight?" });
    // The same event was handled in one transaction, so the online member's absence is final.
    expect((await allNotifications(online)).some((x) => x.kind === NotificationKind.NEW_MESSAGE)).toBe(false);
    expect((await allNotifications(owner)).some((x) => x.kind === NotificationKind.NEW_MESSAGE)).toBe(false);
  });

  it("sends nothing caused by a user the recipient has blocked, and resumes after unblocking", async () => {
    const blocker = await createAccount(stack, "blocker");
    const witness = await createAccount(stack, "witness");
    await befriend(owner, blocker);
    await befriend(owner, witness);
    const group = await createGroup(owner, "Blocked chatter", [blocker, witness]);
    await waitForNotification(blocker, NotificationKind.ADDED_TO_GROUP, (n) => n.conversationId === group);

    await blocker.clients.friends.blockUser({ userId: owner.id });
    await waitForBlockProjection(blocker.id, owner.id, true);
    const { message: hidden } = await owner.clients.messages.sendMessage({ conversationId: group, clientMessageId: randomUUID(), text: "psst" });
    await waitForNotification(witness, NotificationKind.NEW_MESSAGE, (n) => n.messageId === hidden!.id);
    expect((await allNotifications(blocker)).some((n) => n.messageId === hidden!.id)).toBe(false);

    await blocker.clients.friends.unblockUser({ userId: owner.id });
    await waitForBlockProjection(blocker.id, owner.id, false);
    const { message: visible } = await owner.clients.messages.sendMessage({ conversationId: group, clientMessageId: randomUUID(), text: "hello again" });
    await waitForNotification(blocker, NotificationKind.NEW_MESSAGE, (n) => n.messageId === visible!.id);
  });
});

describe("NEW_MESSAGE while offline: one row per conversation", () => {
  let owner: Account;
  let away: Account;
  let present: Account;
  let conversationId: string;
  let latest: Message;

  beforeAll(async () => {
    owner = await createAccount(stack, "nm_owner");
    away = await createAccount(stack, "nm_away");
    present = await createAccount(stack, "nm_present");
    await befriend(owner, away);
    await befriend(owner, present);
    conversationId = await createGroup(owner, "Night owls", [away, present]);
    await waitForNotification(away, NotificationKind.ADDED_TO_GROUP, (n) => n.conversationId === conversationId);
    await markOnline(present);
  }, 60_000);

  async function send(text: string): Promise<Message> {
    const { message } = await owner.clients.messages.sendMessage({ conversationId, clientMessageId: randomUUID(), text });
    return message!;
  }

  async function newMessageRows(account: Account) {
    return (await allNotifications(account)).filter((n) => n.kind === NotificationKind.NEW_MESSAGE && n.conversationId === conversationId);
  }

  /** Waits for the single NEW_MESSAGE row of `account` to show `messageId` and returns it. */
  async function rowShowing(account: Account, messageId: string) {
    await waitFor(async () => (await newMessageRows(account)).some((n) => n.messageId === messageId), { timeoutMs: 10_000 });
    const rows = await newMessageRows(account);
    expect(rows).toHaveLength(1);
    return rows[0]!;
  }

  async function eventOf(message: Message): Promise<BusMessage> {
    let found: BusMessage | undefined;
    await waitFor(() => {
      found = seen.find((m) => m.subject === "parley.chat.message.created" && decodeEvent(MessageEventSchema, m).message?.id === message.id);
      return found !== undefined;
    });
    return found!;
  }

  it("collapses three messages into one unread row counting 3 that shows the latest; online members get nothing", async () => {
    await send("one");
    await send("two");
    latest = await send("three");
    const row = await rowShowing(away, latest.id);
    expect(row).toMatchObject({ actorId: owner.id, preview: "three", read: false, unreadMessageCount: 3 });
    expect(await newMessageRows(present)).toEqual([]);
  });

  it("reading it clears the count; the next message makes the same row unread again with a count of 1", async () => {
    const before = await rowShowing(away, latest.id);
    const unreadBefore = (await away.clients.notifications.getUnreadCount({})).unreadCount;
    const marked = await away.clients.notifications.markNotificationsRead({ notificationIds: [before.id] });
    expect(marked.unreadCount).toBe(unreadBefore - 1n);
    expect(await rowShowing(away, latest.id)).toMatchObject({ id: before.id, read: true, unreadMessageCount: 0 });

    latest = await send("four");
    const after = await rowShowing(away, latest.id);
    expect(after).toMatchObject({ id: before.id, read: false, unreadMessageCount: 1, preview: "four" });
    expect((await away.clients.notifications.getUnreadCount({})).unreadCount).toBe(unreadBefore);
  });

  it("does not count a redelivered message event twice, nor let an older one replace the latest", async () => {
    const redeliver = feedEventHandler(stack.tp.deps, presence, stack.tp.deps.logger);
    const event = await eventOf(latest);
    await redeliver({ ...event, deliveryCount: 2 });
    await redeliver({ ...event, deliveryCount: 3 });
    const older = seen.filter((m) => m.subject === "parley.chat.message.created" && decodeEvent(MessageEventSchema, m).message?.conversationId === conversationId)[0]!;
    await redeliver({ ...older, deliveryCount: 2 });
    expect(await rowShowing(away, latest.id)).toMatchObject({ unreadMessageCount: 1, preview: "four" });
  });

  it("touches no database for a message whose recipients are all online", async () => {
    await markOnline(away);
    const whileOnline = await send("five");
    const event = await eventOf(whileOnline);
    const counted = countingDatabase(stack.tp.deps);
    await feedEventHandler(counted.deps, presence, stack.tp.deps.logger)({ ...event, deliveryCount: 2 });
    expect(counted.uses()).toBe(0);

    await markOffline(away);
    latest = await send("six");
    // Events of one conversation are handled in order: "five" was handled (and skipped) before "six".
    expect(await rowShowing(away, latest.id)).toMatchObject({ unreadMessageCount: 2, preview: "six" });
    const db = stack.tp.deps.database.db;
    const marker = async (eventId: string) =>
      (await db.select().from(inbox).where(and(eq(inbox.consumer, FEED_CONSUMER), eq(inbox.eventId, eventId)))).length;
    expect(await marker(event.id)).toBe(0);
    expect(await marker((await eventOf(latest)).id)).toBe(1);
  });

  it("publishes no notification.created event for NEW_MESSAGE, but still for other kinds", async () => {
    // The relay publishes in outbox order: once this later friend request's event is out, any earlier one would be too.
    const sentinel = await createAccount(stack, "nm_sentinel");
    await sentinel.clients.friends.sendFriendRequest({ target: { case: "userId", value: away.id } });
    const created = () => seen.filter((m) => m.subject === "parley.notification.notification.created").map((m) => decodeEvent(NotificationCreatedEventSchema, m));
    await waitFor(() => created().some((e) => e.userId === away.id && e.notification?.actorId === sentinel.id));
    expect(created().filter((e) => e.notification?.kind === NotificationKind.NEW_MESSAGE)).toEqual([]);
  });
});

/** `deps` whose database counts every use of its query builder, to show that a path never reaches Postgres. */
function countingDatabase(deps: PlatformDeps): { deps: PlatformDeps; uses: () => number } {
  let uses = 0;
  const db = new Proxy(deps.database.db, {
    get(target, property, receiver) {
      uses += 1;
      return Reflect.get(target, property, receiver) as unknown;
    },
  });
  return { deps: { ...deps, database: { ...deps.database, db } }, uses: () => uses };
}

async function waitForBlockProjection(blockerId: string, blockedId: string, present: boolean): Promise<void> {
  const db = stack.tp.deps.database.db;
  await waitFor(async () => {
    const rows = await db.select().from(blocks).where(and(eq(blocks.blockerId, blockerId), eq(blocks.blockedId, blockedId)));
    return rows.length === (present ? 1 : 0);
  }, { timeoutMs: 10_000 });
}

describe("reading the feed", () => {
  let reader: Account;
  let stranger: Account;
  let senders: Account[];

  beforeAll(async () => {
    reader = await createAccount(stack, "reader");
    stranger = await createAccount(stack, "stranger");
    senders = [];
    for (let i = 0; i < 5; i++) {
      const sender = await createAccount(stack, `sender${i}`);
      await sender.clients.friends.sendFriendRequest({ target: { case: "userId", value: reader.id } });
      senders.push(sender);
    }
    await waitFor(async () => (await allNotifications(reader)).length === 5, { timeoutMs: 10_000 });
  }, 60_000);

  it("pages newest first with a page token, without gaps or repeats", async () => {
    const ids: string[] = [];
    const times: bigint[] = [];
    let pageToken = "";
    do {
      const page = await reader.clients.notifications.listNotifications({ pageSize: 2, pageToken });
      expect(page.notifications.length).toBeLessThanOrEqual(2);
      ids.push(...page.notifications.map((n) => n.id));
      times.push(...page.notifications.map((n) => n.createdAt!.seconds * 1000n + BigInt(Math.floor(n.createdAt!.nanos / 1e6))));
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    expect(ids).toHaveLength(5);
    expect(new Set(ids).size).toBe(5);
    expect([...times].sort((a, b) => (a < b ? 1 : a > b ? -1 : 0))).toEqual(times);
    const actors = (await allNotifications(reader)).map((n) => n.actorId);
    expect(new Set(actors)).toEqual(new Set(senders.map((s) => s.id)));
  });

  it("counts unread, marks chosen ones read, filters unread_only, then marks all", async () => {
    const all = await allNotifications(reader);
    expect((await reader.clients.notifications.getUnreadCount({})).unreadCount).toBe(5n);
    const chosen = all.slice(0, 2).map((n) => n.id);
    const marked = await reader.clients.notifications.markNotificationsRead({ notificationIds: chosen });
    expect(marked.unreadCount).toBe(3n);
    const unread = await reader.clients.notifications.listNotifications({ unreadOnly: true });
    expect(unread.notifications.map((n) => n.id).sort()).toEqual(all.slice(2).map((n) => n.id).sort());
    expect((await allNotifications(reader)).filter((n) => n.read).map((n) => n.id).sort()).toEqual([...chosen].sort());
    // Marking again is harmless.
    expect((await reader.clients.notifications.markNotificationsRead({ notificationIds: chosen })).unreadCount).toBe(3n);

    expect((await reader.clients.notifications.markNotificationsRead({ all: true })).unreadCount).toBe(0n);
    expect((await reader.clients.notifications.getUnreadCount({})).unreadCount).toBe(0n);
    expect((await reader.clients.notifications.listNotifications({ unreadOnly: true })).notifications).toEqual([]);
  });

  it("does not let anyone mark another user's notifications, and changes nothing when refused", async () => {
    const victim = await createAccount(stack, "victim");
    await stranger.clients.friends.sendFriendRequest({ target: { case: "userId", value: victim.id } });
    const theirs = await waitForNotification(victim, NotificationKind.FRIEND_REQUEST_RECEIVED);
    const ownSender = await createAccount(stack, "own");
    await ownSender.clients.friends.sendFriendRequest({ target: { case: "userId", value: stranger.id } });
    const mine = await waitForNotification(stranger, NotificationKind.FRIEND_REQUEST_RECEIVED);

    const err = await expectCode(stranger.clients.notifications.markNotificationsRead({ notificationIds: [mine.id, theirs.id] }), Code.NotFound);
    expect(err.rawMessage).toContain(theirs.id);
    // Checked before writing: the caller's own id in the same call stayed unread too.
    expect((await allNotifications(stranger)).find((n) => n.id === mine.id)?.read).toBe(false);
    expect((await allNotifications(victim)).find((n) => n.id === theirs.id)?.read).toBe(false);
    // "all" means the caller's all.
    await stranger.clients.notifications.markNotificationsRead({ all: true });
    expect((await victim.clients.notifications.getUnreadCount({})).unreadCount).toBe(1n);
  });

  it("rejects bad input with clear errors", async () => {
    const n = reader.clients.notifications;
    await expectCode(n.markNotificationsRead({}), Code.InvalidArgument);
    await expectCode(n.markNotificationsRead({ notificationIds: ["not-an-id"] }), Code.InvalidArgument);
    await expectCode(n.markNotificationsRead({ notificationIds: [randomUUID()], all: true }), Code.InvalidArgument);
    await expectCode(n.markNotificationsRead({ notificationIds: [randomUUID()] }), Code.NotFound);
    await expectCode(n.listNotifications({ pageSize: 500 }), Code.InvalidArgument);
    await expectCode(n.listNotifications({ pageToken: "garbage" }), Code.InvalidArgument);
    await expectCode(stack.anon.notifications.getUnreadCount({}), Code.Unauthenticated);
  });
});
