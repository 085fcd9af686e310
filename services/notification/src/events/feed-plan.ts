/**
 * Turns one consumed event into the notifications it should cause, before any
 * write. Kept apart from the consumer so the rules read in one place.
 */
import type { BusMessage } from "@parley/platform";
import { decodeEvent } from "@parley/platform";
import {
  FriendRequestEventSchema,
  BlockEventSchema,
  SocialGraphSliceEventSchema,
  SocialGraphSliceEvent_Kind,
  type GraphEdge,
} from "@parley/gen/parley/identity/v1/events_pb";
import { ConversationEventSchema, MessageEventSchema } from "@parley/gen/parley/chat/v1/events_pb";
import { ConversationKind } from "@parley/gen/parley/chat/v1/conversation_pb";
import { NotificationKind } from "@parley/gen/parley/notification/v1/notification_pb";
import type { BlockEdge } from "../store/blocks.js";
import type { OfflineMessage } from "../store/message-notifications.js";
import type { NewNotification } from "../store/notifications.js";
import type { OfflineLookup } from "./presence-view.js";
import { CHAT, IDENTITY } from "./subjects.js";

export type FeedAction =
  | { type: "notify"; actorId: string; notifications: NewNotification[] }
  | { type: "notify-offline"; message: OfflineMessageNotice }
  | { type: "block" | "unblock"; blockerId: string; blockedId: string }
  | { type: "block-slice"; after: BlockEdge | undefined; through: BlockEdge | undefined; edges: BlockEdge[] }
  | { type: "ignore"; reason: string };

export const FEED_SUBJECTS = [
  IDENTITY.friendRequestCreated,
  IDENTITY.friendRequestAccepted,
  IDENTITY.blockCreated,
  IDENTITY.blockRemoved,
  IDENTITY.graphSlice,
  CHAT.conversationCreated,
  CHAT.membersAdded,
  CHAT.messageCreated,
];

/** A message some members were offline for: they get (or see updated) their NEW_MESSAGE row. */
export type OfflineMessageNotice = Omit<OfflineMessage, "consumer">;

const PREVIEW_MAX_CHARS = 140;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Lower-cased ids, or null for an edge that is not two UUIDs. */
function blockEdge(e: GraphEdge): BlockEdge | null {
  if (!UUID.test(e.first) || !UUID.test(e.second)) return null;
  return { blockerId: e.first.toLowerCase(), blockedId: e.second.toLowerCase() };
}

export async function planFeedAction(msg: BusMessage, presence: OfflineLookup): Promise<FeedAction> {
  const sourceEventId = msg.id;
  switch (msg.subject) {
    case IDENTITY.friendRequestCreated: {
      const e = decodeEvent(FriendRequestEventSchema, msg);
      return notify(e.fromUserId, [
        { userId: e.toUserId, kind: NotificationKind.FRIEND_REQUEST_RECEIVED, actorId: e.fromUserId, friendRequestId: e.requestId, sourceEventId },
      ]);
    }
    case IDENTITY.friendRequestAccepted: {
      const e = decodeEvent(FriendRequestEventSchema, msg);
      return notify(e.toUserId, [
        { userId: e.fromUserId, kind: NotificationKind.FRIEND_REQUEST_ACCEPTED, actorId: e.toUserId, friendRequestId: e.requestId, sourceEventId },
      ]);
    }
    case IDENTITY.blockCreated:
    case IDENTITY.blockRemoved: {
      const e = decodeEvent(BlockEventSchema, msg);
      const type = msg.subject === IDENTITY.blockCreated ? "block" : "unblock";
      return { type, blockerId: e.blockerId, blockedId: e.blockedId };
    }
    case IDENTITY.graphSlice: {
      const e = decodeEvent(SocialGraphSliceEventSchema, msg);
      if (e.kind !== SocialGraphSliceEvent_Kind.BLOCK) return { type: "ignore", reason: "not a block slice" };
      const edges = e.edges.map(blockEdge);
      const after = e.after && blockEdge(e.after);
      const through = e.through && blockEdge(e.through);
      if (edges.includes(null) || after === null || through === null) return { type: "ignore", reason: "malformed graph slice" };
      return { type: "block-slice", after, through, edges: edges.filter((x) => x !== null) };
    }
    case CHAT.conversationCreated:
    case CHAT.membersAdded: {
      const e = decodeEvent(ConversationEventSchema, msg);
      const conversation = e.conversation;
      if (conversation?.kind !== ConversationKind.GROUP) return { type: "ignore", reason: "not a group" };
      const added = unique(e.changedUserIds).filter((id) => id !== e.actorId);
      return notify(
        e.actorId,
        added.map((userId) => ({
          userId,
          kind: NotificationKind.ADDED_TO_GROUP,
          actorId: e.actorId,
          conversationId: conversation.id,
          preview: truncate(conversation.title),
          sourceEventId,
        })),
      );
    }
    case CHAT.messageCreated: {
      const e = decodeEvent(MessageEventSchema, msg);
      const message = e.message;
      if (!message) return { type: "ignore", reason: "event without a message" };
      const recipients = e.recipientIds.filter((id) => id !== "" && id !== message.senderId);
      // Online members see the message live on their sockets; a notification
      // is for those who would otherwise miss it (see README, "offline only").
      if (recipients.length === 0) return { type: "ignore", reason: "no recipient" };
      // Deduplicated after the presence filter: usually nobody is left, and a set of a whole group per message is not free.
      const offline = unique(await presence.offlineOf(recipients));
      // Nothing to write, so no idempotency marker either: the common case costs no Postgres round trip.
      if (offline.length === 0) return { type: "ignore", reason: "every recipient online" };
      return {
        type: "notify-offline",
        message: {
          sourceEventId,
          senderId: message.senderId,
          conversationId: message.conversationId,
          messageId: message.id,
          seq: message.seq,
          preview: truncate(message.text),
          recipientIds: offline,
        },
      };
    }
    default:
      return { type: "ignore", reason: "subject not handled" };
  }
}

function notify(actorId: string, notifications: NewNotification[]): FeedAction {
  const kept = notifications.filter((n) => n.userId !== "" && n.userId !== actorId);
  if (kept.length === 0) return { type: "ignore", reason: "nobody to notify" };
  return { type: "notify", actorId, notifications: kept };
}

function unique(ids: string[]): string[] {
  return [...new Set(ids)];
}

/** Cuts on code points, never inside a surrogate pair. */
function truncate(text: string): string {
  const chars = Array.from(text);
  return chars.length <= PREVIEW_MAX_CHARS ? text : `${chars.slice(0, PREVIEW_MAX_CHARS - 1).join("")}…`;
}
