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
import { chatEvents, identityEvents, notificationEvents, realtimeEvents } from "./subjects.js";

export interface FrameRoute {
  frame: ServerFrame;
  userIds: string[];
}

export function routesForEvent(subject: string, data: Uint8Array): FrameRoute[] {
  const decode = <D extends DescMessage>(schema: D): MessageShape<D> => fromBinary(schema, data);
  switch (subject) {
    case chatEvents.messageCreated.subject:
    case chatEvents.messageEdited.subject:
    case chatEvents.messageDeleted.subject: {
      const e = decode(MessageEventSchema);
      if (!e.message) return [];
      const kind = subject === chatEvents.messageCreated.subject ? "message" : subject === chatEvents.messageEdited.subject ? "messageEdited" : "messageDeleted";
      return [{ frame: serverFrame(kind, e.message), userIds: e.recipientIds }];
    }
    case chatEvents.conversationCreated.subject:
    case chatEvents.membersAdded.subject:
    case chatEvents.memberRemoved.subject:
    case chatEvents.conversationUpdated.subject:
      return conversationRoutes(subject, decode(ConversationEventSchema));
    case chatEvents.readUpdated.subject: {
      const e = decode(ReadReceiptEventSchema);
      const receipt = create(ReadReceiptSchema, { conversationId: e.conversationId, userId: e.userId, readSeq: e.readSeq });
      return [{ frame: serverFrame("readReceipt", receipt), userIds: e.recipientIds }];
    }
    case notificationEvents.notificationCreated.subject: {
      const e = decode(NotificationCreatedEventSchema);
      if (!e.notification) return [];
      return [{ frame: serverFrame("notification", e.notification), userIds: [e.userId] }];
    }
    case identityEvents.friendRequestCreated.subject:
    case identityEvents.friendRequestAccepted.subject:
    case identityEvents.friendRequestRejected.subject:
    case identityEvents.friendRequestCanceled.subject:
      return friendRequestRoutes(subject, decode(FriendRequestEventSchema));
    case identityEvents.friendshipRemoved.subject: {
      const e = decode(FriendshipEventSchema);
      return [
        friendRoute(FriendEventKind.FRIEND_REMOVED, "", e.userBId, e.userAId),
        friendRoute(FriendEventKind.FRIEND_REMOVED, "", e.userAId, e.userBId),
      ];
    }
    case realtimeEvents.presenceChanged.subject: {
      const e = decode(PresenceEventSchema);
      const presence = create(PresenceChangedSchema, { userId: e.userId, online: e.online, lastSeenAt: e.lastSeenAt });
      return [{ frame: serverFrame("presence", presence), userIds: e.recipientIds }];
    }
    case realtimeEvents.typingStarted.subject: {
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
  if (subject === chatEvents.conversationCreated.subject || subject === chatEvents.membersAdded.subject) {
    routes.push({ frame: frameFor(ConversationChange.ADDED), userIds: [...changed] });
    routes.push({ frame: frameFor(ConversationChange.UPDATED), userIds: others });
  } else if (subject === chatEvents.memberRemoved.subject) {
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
  switch (subject) {
    case identityEvents.friendRequestCreated.subject:
      return [friendRoute(FriendEventKind.REQUEST_RECEIVED, requestId, fromUserId, toUserId)];
    case identityEvents.friendRequestAccepted.subject:
      return [
        friendRoute(FriendEventKind.REQUEST_ACCEPTED, requestId, toUserId, fromUserId),
        friendRoute(FriendEventKind.REQUEST_ACCEPTED, requestId, fromUserId, toUserId),
      ];
    case identityEvents.friendRequestRejected.subject:
      return [friendRoute(FriendEventKind.REQUEST_REJECTED, requestId, fromUserId, toUserId)];
    case identityEvents.friendRequestCanceled.subject:
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
