/** Rows → protobuf messages. */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  ConversationKind,
  ConversationSchema,
  MemberRole,
  MemberSchema,
  type Conversation,
  type Member,
} from "@parley/gen/parley/chat/v1/conversation_pb";
import { MessageSchema, type Message } from "@parley/gen/parley/chat/v1/message_pb";
import type { ConversationRow, MemberRow, MessageRow } from "./store/schema.js";

export function toMessage(row: Omit<MessageRow, "search">): Message {
  return create(MessageSchema, {
    id: row.id,
    conversationId: row.conversationId,
    seq: row.seq,
    senderId: row.senderId,
    text: row.text,
    clientMessageId: row.clientMessageId,
    replyToMessageId: row.replyToMessageId ?? "",
    forwardedFrom:
      row.forwardedFromMessageId === null
        ? undefined
        : {
            conversationId: row.forwardedFromConversationId ?? "",
            messageId: row.forwardedFromMessageId,
            senderId: row.forwardedFromSenderId ?? "",
          },
    createdAt: timestampFromDate(row.createdAt),
    editedAt: row.editedAt === null ? undefined : timestampFromDate(row.editedAt),
    deleted: row.deleted,
  });
}

export function toRole(role: MemberRow["role"]): MemberRole {
  return role === "admin" ? MemberRole.ADMIN : MemberRole.MEMBER;
}

export function toMember(row: MemberRow): Member {
  return create(MemberSchema, {
    userId: row.userId,
    role: toRole(row.role),
    joinedAt: timestampFromDate(row.joinedAt),
    readSeq: row.readSeq,
  });
}

export interface ConversationExtras {
  /** The caller's membership; absent for events (no single viewer). */
  me?: Pick<MemberRow, "role" | "readSeq"> | undefined;
  members?: MemberRow[] | undefined;
  lastMessage?: MessageRow | undefined;
}

export function toConversation(row: ConversationRow, extras: ConversationExtras = {}): Conversation {
  const { me, members, lastMessage } = extras;
  return create(ConversationSchema, {
    id: row.id,
    kind: row.kind === "direct" ? ConversationKind.DIRECT : ConversationKind.GROUP,
    title: row.title,
    createdAt: timestampFromDate(row.createdAt),
    lastActivityAt: timestampFromDate(row.lastActivityAt),
    lastSeq: row.lastSeq,
    lastMessage: lastMessage === undefined ? undefined : toMessage(lastMessage),
    readSeq: me?.readSeq ?? 0n,
    // Sending advances the sender's own read_seq, so this never counts one's own messages
    // sent after the last read.
    unreadCount: me === undefined ? 0n : unreadCount(row.lastSeq, me.readSeq),
    myRole: me === undefined ? MemberRole.UNSPECIFIED : toRole(me.role),
    memberCount: row.memberCount,
    members: (members ?? []).map(toMember),
  });
}

export function unreadCount(lastSeq: bigint, readSeq: bigint): bigint {
  return lastSeq > readSeq ? lastSeq - readSeq : 0n;
}
