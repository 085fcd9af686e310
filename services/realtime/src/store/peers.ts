/**
 * Chat and identity as the edge sees them: Connect clients called with the
 * socket owner's own access token, so chat's membership checks and identity's
 * friend/block rules apply exactly as for the user's own calls.
 */
import { createClient, type Client, type Transport } from "@connectrpc/connect";
import { ConversationService } from "@parley/gen/parley/chat/v1/conversation_pb";
import { ListDirection, MessageService, type Message } from "@parley/gen/parley/chat/v1/message_pb";
import { FriendService } from "@parley/gen/parley/identity/v1/friend_pb";

export interface PeerClients {
  /** The user's friends' ids (all pages). */
  friendIds(token: string): Promise<string[]>;
  /** Ids of users the caller blocked. */
  blockedIds(token: string): Promise<string[]>;
  /** Member ids and last seq; throws ConnectError (not_found / permission_denied) for non-members. */
  conversation(token: string, conversationId: string): Promise<{ memberIds: string[]; lastSeq: bigint }>;
  /** Last seq of each conversation among `ids` (≤ 1,000) the caller is a member of; others are absent. */
  heads(token: string, conversationIds: string[]): Promise<Map<string, bigint>>;
  /** Messages with seq > afterSeq, oldest first. */
  messagesAfter(token: string, conversationId: string, afterSeq: bigint, limit: number): Promise<{ messages: Message[]; hasMore: boolean }>;
}

/** Identity's ListFriends maximum. */
const FRIEND_PAGE = 100;
/** A user with more friends than this many pages is not told about more presence changes: bounds one lookup. */
const MAX_FRIEND_PAGES = 50;

export function createPeerClients(transports: { chat: Transport; identity: Transport }): PeerClients {
  const friends: Client<typeof FriendService> = createClient(FriendService, transports.identity);
  const conversations: Client<typeof ConversationService> = createClient(ConversationService, transports.chat);
  const messages: Client<typeof MessageService> = createClient(MessageService, transports.chat);
  const auth = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

  return {
    async friendIds(token) {
      const ids: string[] = [];
      let pageToken = "";
      for (let page = 0; page < MAX_FRIEND_PAGES; page++) {
        const res = await friends.listFriends({ pageSize: FRIEND_PAGE, pageToken }, auth(token));
        for (const f of res.friends) if (f.user) ids.push(f.user.id);
        if (!res.nextPageToken) break;
        pageToken = res.nextPageToken;
      }
      return ids;
    },
    async blockedIds(token) {
      const res = await friends.listBlocked({}, auth(token));
      return res.users.map((u) => u.id);
    },
    async conversation(token, conversationId) {
      const res = await conversations.getConversation({ conversationId }, auth(token));
      const c = res.conversation;
      return { memberIds: c?.members.map((m) => m.userId) ?? [], lastSeq: c?.lastSeq ?? 0n };
    },
    async heads(token, conversationIds) {
      const res = await conversations.getConversationHeads({ conversationIds }, auth(token));
      return new Map(res.heads.map((h) => [h.conversationId, h.lastSeq]));
    },
    async messagesAfter(token, conversationId, afterSeq, limit) {
      const res = await messages.listMessages(
        { conversationId, cursorSeq: afterSeq, direction: ListDirection.FORWARD, limit },
        auth(token),
      );
      return { messages: res.messages, hasMore: res.hasMore };
    },
  };
}
