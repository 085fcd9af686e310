/** The edge's event → frame mapping on its own: who gets which frame for every subject it consumes. */
import { create, toBinary, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import { ConversationEventSchema, MessageEventSchema, ReadReceiptEventSchema } from "@parley/gen/parley/chat/v1/events_pb";
import { ConversationSchema } from "@parley/gen/parley/chat/v1/conversation_pb";
import { MessageSchema } from "@parley/gen/parley/chat/v1/message_pb";
import { FriendRequestEventSchema, FriendshipEventSchema } from "@parley/gen/parley/identity/v1/events_pb";
import { NotificationCreatedEventSchema, NotificationKind } from "@parley/gen/parley/notification/v1/notification_pb";
import {
  ConversationChange,
  FriendEventKind,
  PresenceEventSchema,
  TypingEventSchema,
  type ServerFrame,
} from "@parley/gen/parley/realtime/v1/frames_pb";
import { describe, expect, it } from "vitest";
import { routesForEvent } from "../src/events/frame-routes.js";
import { EDGE_SUBJECTS } from "../src/events/subjects.js";

const bytes = <D extends DescMessage>(schema: D, init: MessageInitShape<D>) => toBinary(schema, create(schema, init));

/** [frame kind, detail, sorted recipients] per route: what a reader checks. */
function summary(subject: string, data: Uint8Array): Array<[string | undefined, unknown, string[]]> {
  return routesForEvent(subject, data).map((r) => [r.frame.kind.case, detail(r.frame), [...r.userIds].sort()]);
}

function detail(frame: ServerFrame): unknown {
  const k = frame.kind;
  switch (k.case) {
    case "message":
    case "messageEdited":
    case "messageDeleted":
      return k.value.id;
    case "conversation":
      return [ConversationChange[k.value.change], k.value.conversation?.id];
    case "friend":
      return [FriendEventKind[k.value.kind], k.value.userId, k.value.requestId];
    case "readReceipt":
      return [k.value.conversationId, k.value.userId, k.value.readSeq];
    case "notification":
      return k.value.id;
    case "presence":
      return [k.value.userId, k.value.online];
    case "typing":
      return [k.value.conversationId, k.value.userId];
    default:
      return undefined;
  }
}

const message = create(MessageSchema, { id: "m1", conversationId: "c1", seq: 7n, text: "hi" });
const conversation = create(ConversationSchema, { id: "c1", title: "g", lastSeq: 7n });

describe("routesForEvent", () => {
  it.each([
    ["parley.chat.message.created", "message"],
    ["parley.chat.message.edited", "messageEdited"],
    ["parley.chat.message.deleted", "messageDeleted"],
  ])("%s → %s to the event's recipients", (subject, kind) => {
    const data = bytes(MessageEventSchema, { message, recipientIds: ["a", "b"] });
    expect(summary(subject, data)).toEqual([[kind, "m1", ["a", "b"]]]);
  });

  it("a message event without a message routes nothing", () => {
    expect(routesForEvent("parley.chat.message.created", bytes(MessageEventSchema, { recipientIds: ["a"] }))).toEqual([]);
  });

  it.each(["parley.chat.conversation.created", "parley.chat.conversation.members_added"])(
    "%s → ADDED to the changed users, UPDATED to the other members",
    (subject) => {
      const data = bytes(ConversationEventSchema, { conversation, actorId: "a", changedUserIds: ["c", "d"], recipientIds: ["a", "b", "c", "d"] });
      expect(summary(subject, data)).toEqual([
        ["conversation", ["ADDED", "c1"], ["c", "d"]],
        ["conversation", ["UPDATED", "c1"], ["a", "b"]],
      ]);
    },
  );

  it("a created group where everyone is new has only ADDED routes (no empty UPDATED route)", () => {
    const data = bytes(ConversationEventSchema, { conversation, actorId: "a", changedUserIds: ["a", "b"], recipientIds: ["a", "b"] });
    expect(summary("parley.chat.conversation.created", data)).toEqual([["conversation", ["ADDED", "c1"], ["a", "b"]]]);
  });

  it("member_removed → REMOVED to the removed user, UPDATED to those who stay", () => {
    const data = bytes(ConversationEventSchema, { conversation, actorId: "a", changedUserIds: ["c"], recipientIds: ["a", "b", "c"] });
    expect(summary("parley.chat.conversation.member_removed", data)).toEqual([
      ["conversation", ["REMOVED", "c1"], ["c"]],
      ["conversation", ["UPDATED", "c1"], ["a", "b"]],
    ]);
  });

  it("updated → UPDATED to every recipient", () => {
    const data = bytes(ConversationEventSchema, { conversation, actorId: "a", recipientIds: ["a", "b"] });
    expect(summary("parley.chat.conversation.updated", data)).toEqual([["conversation", ["UPDATED", "c1"], ["a", "b"]]]);
  });

  it("a conversation event without a conversation routes nothing", () => {
    const data = bytes(ConversationEventSchema, { actorId: "a", changedUserIds: ["b"], recipientIds: ["a", "b"] });
    expect(routesForEvent("parley.chat.conversation.created", data)).toEqual([]);
  });

  it("read.updated → read_receipt to the recipients", () => {
    const data = bytes(ReadReceiptEventSchema, { conversationId: "c1", userId: "b", readSeq: 5n, recipientIds: ["a", "b"] });
    expect(summary("parley.chat.read.updated", data)).toEqual([["readReceipt", ["c1", "b", 5n], ["a", "b"]]]);
  });

  it("notification.created → notification to its user only", () => {
    const data = bytes(NotificationCreatedEventSchema, {
      userId: "b",
      notification: { id: "n1", kind: NotificationKind.FRIEND_REQUEST_RECEIVED, actorId: "a" },
    });
    expect(summary("parley.notification.notification.created", data)).toEqual([["notification", "n1", ["b"]]]);
    expect(routesForEvent("parley.notification.notification.created", bytes(NotificationCreatedEventSchema, { userId: "b" }))).toEqual([]);
  });

  const request = bytes(FriendRequestEventSchema, { requestId: "r1", fromUserId: "from", toUserId: "to" });

  it("friend_request.created → REQUEST_RECEIVED to the addressee, about the sender", () => {
    expect(summary("parley.identity.friend_request.created", request)).toEqual([["friend", ["REQUEST_RECEIVED", "from", "r1"], ["to"]]]);
  });

  it("friend_request.accepted and .canceled → both sides, each about the other", () => {
    for (const [verb, kind] of [
      ["accepted", "REQUEST_ACCEPTED"],
      ["canceled", "REQUEST_CANCELED"],
    ] as const) {
      const routes = summary(`parley.identity.friend_request.${verb}`, request);
      expect(routes).toHaveLength(2);
      expect(routes).toEqual(
        expect.arrayContaining([
          ["friend", [kind, "to", "r1"], ["from"]],
          ["friend", [kind, "from", "r1"], ["to"]],
        ]),
      );
    }
  });

  it("friend_request.rejected → only the rejecter's own devices", () => {
    expect(summary("parley.identity.friend_request.rejected", request)).toEqual([["friend", ["REQUEST_REJECTED", "from", "r1"], ["to"]]]);
  });

  it("friendship.removed → FRIEND_REMOVED to both, each about the other", () => {
    const data = bytes(FriendshipEventSchema, { userAId: "a", userBId: "b" });
    expect(summary("parley.identity.friendship.removed", data)).toEqual([
      ["friend", ["FRIEND_REMOVED", "b", ""], ["a"]],
      ["friend", ["FRIEND_REMOVED", "a", ""], ["b"]],
    ]);
  });

  it("presence and typing go to the recipients their publisher listed", () => {
    const presence = bytes(PresenceEventSchema, { userId: "a", online: true, recipientIds: ["b", "c"] });
    expect(summary("parley.realtime.presence.changed", presence)).toEqual([["presence", ["a", true], ["b", "c"]]]);
    const typing = bytes(TypingEventSchema, { conversationId: "c1", userId: "a", recipientIds: ["b"] });
    expect(summary("parley.realtime.typing.started", typing)).toEqual([["typing", ["c1", "a"], ["b"]]]);
  });

  it("other subjects under the consumed prefixes route nothing", () => {
    expect(routesForEvent("parley.chat.conversation.invite_created", new Uint8Array([0x0a, 0x01, 0x78]))).toEqual([]);
    expect(routesForEvent("parley.identity.friendship.created", bytes(FriendshipEventSchema, { userAId: "a", userBId: "b" }))).toEqual([]);
  });

  it("every frame-producing subject is one every edge node consumes", () => {
    const consumed = (subject: string) =>
      EDGE_SUBJECTS.some((p) => (p.endsWith(">") ? subject.startsWith(p.slice(0, -1)) : p === subject));
    for (const subject of [
      "parley.chat.message.created",
      "parley.chat.message.edited",
      "parley.chat.message.deleted",
      "parley.chat.conversation.created",
      "parley.chat.conversation.members_added",
      "parley.chat.conversation.member_removed",
      "parley.chat.conversation.updated",
      "parley.chat.read.updated",
      "parley.notification.notification.created",
      "parley.identity.friend_request.created",
      "parley.identity.friend_request.accepted",
      "parley.identity.friend_request.rejected",
      "parley.identity.friend_request.canceled",
      "parley.identity.friendship.removed",
      "parley.realtime.presence.changed",
      "parley.realtime.typing.started",
    ]) {
      expect(consumed(subject), subject).toBe(true);
    }
  });

  it("a payload that does not decode throws (the bus retries, then terminates) instead of routing nothing", () => {
    expect(() => routesForEvent("parley.chat.message.created", new Uint8Array([0xff, 0xff, 0xff]))).toThrow();
  });
});
