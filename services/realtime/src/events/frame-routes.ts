/**
 * Event → socket frames and who gets them. Pure: no I/O, so every mapping is
 * testable on its own. One event may produce several routes when recipients
 * see it differently (a conversation ADDED for new members, UPDATED for the
 * rest; a friend request as received vs. accepted).
 */
import { create, fromBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { ConversationEventSchema, MessageEventSchema, ReadReceiptEventSchema } from "@parley/gen/parley/chat/v1/events_pb";
import { FriendRequestEventSchema, FriendshipEventSchema } from "@parley/gen/parley/identity/v1/events_pb";
import { NotificationCreatedEventSchema } from "@parley/gen/parley/notification/v1/notification_pb";
import {
  ConversationChange,
  ConversationChangedSchema,
  FriendEventKind,
  FriendEventSchema,
  PresenceChangedSchema,
  PresenceEventSchema,
  ReadReceiptSchema,
  TypingEventSchema,
  TypingSchema,
  type ServerFrame,
} from "@parley/gen/parley/realtime/v1/frames_pb";
import { serverFrame } from "../handlers/codec.js";

export interface FrameRoute {
  frame: ServerFrame;
  userIds: string[];
}

export function routesForEvent(subject: string, data: Uint8Array): FrameRoute[] {
  const decode = <D extends DescMessage>(schema: D): MessageShape<D> => fromBinary(schema, data);
  switch (subject) {
    case "parley.chat.message.created":
    case "parley.chat.message.edited":
    case "parley.chat.message.deleted": {
      const e = decode(MessageEventSchema);
      if (!e.message) return [];
      const kind = subject.endsWith("created") ? "message" : subject.endsWith("edited") ? "messageEdited" : "messageDeleted";
      return [{ frame: serverFrame(kind, e.message), userIds: e.recipientIds }];
    }
    case "parley.chat.conversation.created":
    case "parley.chat.conversation.members_added":
    case "parley.chat.conversation.member_removed":
    case "parley.chat.conversation.updated":
      return conversationRoutes(subject, decode(ConversationEventSchema));
    case "parley.chat.read.updated": {
      const e = decode(ReadReceiptEventSchema);
      const receipt = create(ReadReceiptSchema, { conversationId: e.conversationId, userId: e.userId, readSeq: e.readSeq });
      return [{ frame: serverFrame("readReceipt", receipt), userIds: e.recipientIds }];
    }
    case "parley.notification.notification.created": {
      const e = decode(NotificationCreatedEventSchema);
      if (!e.notification) return [];
      return [{ frame: serverFrame("notification", e.notification), userIds: [e.userId] }];
    }
    case "parley.identity.friend_request.created":
    case "parley.identity.friend_request.accepted":
    case "parley.identity.friend_request.rejected":
    case "parley.identity.friend_request.canceled":
      return friendRequestRoutes(subject, decode(FriendRequestEventSchema));
    case "parley.identity.friendship.removed": {
      const e = decode(FriendshipEventSchema);
      return [
        friendRoute(FriendEventKind.FRIEND_REMOVED, "", e.userBId, e.userAId),
        friendRoute(FriendEventKind.FRIEND_REMOVED, "", e.userAId, e.userBId),
      ];
    }
    case "parley.realtime.presence.changed": {
      const e = decode(PresenceEventSchema);
      const presence = create(PresenceChangedSchema, { userId: e.userId, online: e.online, lastSeenAt: e.lastSeenAt });
      return [{ frame: serverFrame("presence", presence), userIds: e.recipientIds }];
    }
    case "parley.realtime.typing.started": {
      const e = decode(TypingEventSchema);
      const typing = create(TypingSchema, { conversationId: e.conversationId, userId: e.userId, expiresAt: e.expiresAt });
      return [{ frame: serverFrame("typing", typing), userIds: e.recipientIds }];
    }
    default:
      // Other events under the consumed prefixes (e.g. chat's own bookkeeping) carry nothing for sockets.
      return [];
  }
}

function conversationRoutes(subject: string, e: MessageShape<typeof ConversationEventSchema>): FrameRoute[] {
  if (!e.conversation) return [];
  const changed = new Set(e.changedUserIds);
  const others = e.recipientIds.filter((id) => !changed.has(id));
  const frameFor = (change: ConversationChange) =>
    serverFrame("conversation", create(ConversationChangedSchema, { change, conversation: e.conversation }));
  const routes: FrameRoute[] = [];
  if (subject.endsWith("created") || subject.endsWith("members_added")) {
    routes.push({ frame: frameFor(ConversationChange.ADDED), userIds: [...changed] });
    routes.push({ frame: frameFor(ConversationChange.UPDATED), userIds: others });
  } else if (subject.endsWith("member_removed")) {
    routes.push({ frame: frameFor(ConversationChange.REMOVED), userIds: [...changed] });
    routes.push({ frame: frameFor(ConversationChange.UPDATED), userIds: others });
  } else {
    routes.push({ frame: frameFor(ConversationChange.UPDATED), userIds: e.recipientIds });
  }
  return routes.filter((r) => r.userIds.length > 0);
}

/**
 * Who hears about a friend request: the addressee when it arrives; both sides
 * when accepted or canceled (each side's other devices update their lists);
 * a rejection only reaches the rejecter's own devices, since telling the
 * sender would make "reject" a notification.
 */
function friendRequestRoutes(subject: string, e: MessageShape<typeof FriendRequestEventSchema>): FrameRoute[] {
  const { requestId, fromUserId, toUserId } = e;
  switch (subject.slice(subject.lastIndexOf(".") + 1)) {
    case "created":
      return [friendRoute(FriendEventKind.REQUEST_RECEIVED, requestId, fromUserId, toUserId)];
    case "accepted":
      return [
        friendRoute(FriendEventKind.REQUEST_ACCEPTED, requestId, toUserId, fromUserId),
        friendRoute(FriendEventKind.REQUEST_ACCEPTED, requestId, fromUserId, toUserId),
      ];
    case "rejected":
      return [friendRoute(FriendEventKind.REQUEST_REJECTED, requestId, fromUserId, toUserId)];
    case "canceled":
      return [
        friendRoute(FriendEventKind.REQUEST_CANCELED, requestId, fromUserId, toUserId),
        friendRoute(FriendEventKind.REQUEST_CANCELED, requestId, toUserId, fromUserId),
      ];
    default:
      return [];
  }
}

/** A FriendEvent about `aboutUserId` for `recipientId`. */
function friendRoute(kind: FriendEventKind, requestId: string, aboutUserId: string, recipientId: string): FrameRoute {
  return { frame: serverFrame("friend", create(FriendEventSchema, { kind, requestId, userId: aboutUserId })), userIds: [recipientId] };
}
