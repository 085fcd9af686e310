import { defineStore } from "pinia";
import { computed, ref } from "vue";
import {
  ConversationKind,
  type Conversation,
} from "@parley/gen/parley/chat/v1/conversation_pb";
import { ListDirection, type Message } from "@parley/gen/parley/chat/v1/message_pb";
import { ConversationChange, type ConversationChanged, type ReadReceipt } from "@parley/gen/parley/realtime/v1/frames_pb";
import { api } from "../api/parley";
import { msOf } from "../lib/time";
import { loadCursors, saveCursors } from "../lib/cursor-storage";
import { useSessionStore } from "./session";
import { useUsersStore } from "./users";

/** The first page paints the list quickly; later pages are bigger, so scrolling far takes few calls. */
const conversationPageSize = 50;
const conversationLaterPageSize = 200;
const messagePageSize = 50;

export interface Thread {
  /** Sorted by seq, unique by id. */
  messages: Message[];
  /** The newest page has been fetched (messages may also arrive live before that). */
  loaded: boolean;
  hasOlder: boolean;
  loadingOlder: boolean;
  /** The thread holds a window around an older message (a search hit), not the newest page. */
  hasNewer: boolean;
  loadingNewer: boolean;
}

/** A message typed here that the server has not confirmed yet (see stores/outbox.ts). */
export interface PendingMessage {
  clientMessageId: string;
  conversationId: string;
  text: string;
  replyToMessageId: string;
  createdAtMs: number;
  status: "sending" | "failed";
  attempts: number;
  /** Why the last attempt failed, in words; empty while sending. */
  error: string;
}

function newThread(): Thread {
  return { messages: [], loaded: false, hasOlder: true, loadingOlder: false, hasNewer: false, loadingNewer: false };
}

function activityOf(conversation: Conversation): number {
  return msOf(conversation.lastActivityAt) || msOf(conversation.createdAt);
}

export const useConversationsStore = defineStore("conversations", () => {
  const session = useSessionStore();
  const users = useUsersStore();

  const byId = ref<Record<string, Conversation>>({});
  /** Newest activity first. */
  const orderedIds = ref<string[]>([]);
  const nextPageToken = ref("");
  const firstPageLoaded = ref(false);
  const loadingPage = ref(false);
  const threads = ref<Record<string, Thread>>({});
  /** conversation id -> user id -> highest seq that member has read. */
  const readSeqs = ref<Record<string, Record<string, bigint>>>({});
  /** conversation id -> user id -> typing expiry (ms). */
  const typing = ref<Record<string, Record<string, number>>>({});
  const activeId = ref<string | null>(null);
  /** Oldest first; removed once the server's copy of the message is here. */
  const pending = ref<PendingMessage[]>([]);
  let cursors: Record<string, bigint> = {};
  let cursorSaveTimer: ReturnType<typeof setTimeout> | undefined;

  const hasMorePages = computed(() => !firstPageLoaded.value || nextPageToken.value !== "");
  const totalUnread = computed(() =>
    Object.values(byId.value).reduce((sum, c) => sum + Number(c.unreadCount), 0),
  );

  function restoreCursors(): void {
    cursors = session.userId ? loadCursors(session.userId) : {};
  }

  /**
   * Where the realtime client resumes from: what this device persisted, raised to each listed
   * conversation's last seq (the list already counted those messages as unread, and this tab
   * holds no thread for them yet).
   */
  function resumeCursors(): Record<string, bigint> {
    const result = { ...cursors };
    for (const conversation of Object.values(byId.value)) {
      const listed = conversation.lastSeq;
      if ((result[conversation.id] ?? 0n) < listed) result[conversation.id] = listed;
    }
    return result;
  }

  function advanceCursor(conversationId: string, seq: bigint): void {
    if ((cursors[conversationId] ?? 0n) >= seq) return;
    cursors[conversationId] = seq;
    clearTimeout(cursorSaveTimer);
    cursorSaveTimer = setTimeout(() => {
      if (session.userId) saveCursors(session.userId, cursors);
    }, 500);
  }

  function place(id: string): void {
    const conversation = byId.value[id];
    if (!conversation) return;
    const ids = orderedIds.value;
    const existing = ids.indexOf(id);
    if (existing !== -1) ids.splice(existing, 1);
    const activity = activityOf(conversation);
    // Binary search for the first conversation with older activity.
    let low = 0;
    let high = ids.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      const other = byId.value[ids[mid] ?? ""];
      if (other && activityOf(other) >= activity) low = mid + 1;
      else high = mid;
    }
    ids.splice(low, 0, id);
  }

  function rememberMembers(conversation: Conversation): void {
    if (conversation.members.length === 0) return;
    const seqs = (readSeqs.value[conversation.id] ??= {});
    for (const member of conversation.members) {
      if ((seqs[member.userId] ?? 0n) < member.readSeq) seqs[member.userId] = member.readSeq;
    }
    void users.ensure(conversation.members.map((m) => m.userId));
  }

  function upsert(conversation: Conversation): void {
    const previous = byId.value[conversation.id];
    const merged: Conversation =
      previous && conversation.members.length === 0 && previous.members.length > 0
        ? { ...conversation, members: previous.members }
        : conversation;
    if (previous?.lastMessage && merged.lastMessage && previous.lastMessage.seq > merged.lastMessage.seq) {
      merged.lastMessage = previous.lastMessage;
      merged.lastSeq = previous.lastSeq;
      merged.lastActivityAt = previous.lastActivityAt;
    }
    byId.value[conversation.id] = merged;
    rememberMembers(merged);
    if (merged.lastMessage) void users.ensure([merged.lastMessage.senderId]);
    place(conversation.id);
  }

  function remove(conversationId: string): void {
    delete byId.value[conversationId];
    delete threads.value[conversationId];
    const index = orderedIds.value.indexOf(conversationId);
    if (index !== -1) orderedIds.value.splice(index, 1);
  }

  async function loadNextPage(): Promise<void> {
    if (loadingPage.value || !hasMorePages.value) return;
    loadingPage.value = true;
    try {
      const res = await api().conversations.listConversations({
        pageSize: firstPageLoaded.value ? conversationLaterPageSize : conversationPageSize,
        pageToken: nextPageToken.value,
      });
      for (const conversation of res.conversations) upsert(conversation);
      nextPageToken.value = res.nextPageToken;
      firstPageLoaded.value = true;
    } finally {
      loadingPage.value = false;
    }
  }

  /** After a reconnect: the newest page again, so list order and unread counts catch up. */
  async function refreshFirstPage(): Promise<void> {
    const res = await api().conversations.listConversations({ pageSize: conversationPageSize });
    for (const conversation of res.conversations) upsert(conversation);
    if (!firstPageLoaded.value) {
      nextPageToken.value = res.nextPageToken;
      firstPageLoaded.value = true;
    }
  }

  async function fetchConversation(conversationId: string): Promise<Conversation | undefined> {
    const res = await api().conversations.getConversation({ conversationId });
    if (res.conversation) upsert(res.conversation);
    return res.conversation;
  }

  function threadOf(conversationId: string): Thread {
    return (threads.value[conversationId] ??= newThread());
  }

  /** Inserts or replaces by id, keeping seq order. Returns true when the message is new. */
  function putMessage(message: Message): boolean {
    const thread = threadOf(message.conversationId);
    const list = thread.messages;
    for (let i = list.length - 1; i >= 0; i--) {
      const existing = list[i];
      if (!existing) continue;
      if (existing.id === message.id) {
        list[i] = message;
        return false;
      }
      if (existing.seq < message.seq) {
        list.splice(i + 1, 0, message);
        advanceCursor(message.conversationId, message.seq);
        return true;
      }
    }
    list.unshift(message);
    advanceCursor(message.conversationId, message.seq);
    return true;
  }

  async function loadLatest(conversationId: string): Promise<void> {
    const thread = threadOf(conversationId);
    const res = await api().messages.listMessages({
      conversationId,
      cursorSeq: 0n,
      direction: ListDirection.BACKWARD,
      limit: messagePageSize,
    });
    for (const message of res.messages) putMessage(message);
    thread.loaded = true;
    thread.hasOlder = res.hasMore;
    void users.ensure(res.messages.map((m) => m.senderId));
  }

  async function loadOlder(conversationId: string): Promise<number> {
    const thread = threadOf(conversationId);
    if (thread.loadingOlder || !thread.hasOlder) return 0;
    const oldest = thread.messages[0];
    if (!oldest) return 0;
    thread.loadingOlder = true;
    try {
      const res = await api().messages.listMessages({
        conversationId,
        cursorSeq: oldest.seq,
        direction: ListDirection.BACKWARD,
        limit: messagePageSize,
      });
      let added = 0;
      for (const message of res.messages) if (putMessage(message)) added++;
      thread.hasOlder = res.hasMore;
      void users.ensure(res.messages.map((m) => m.senderId));
      return added;
    } finally {
      thread.loadingOlder = false;
    }
  }

  async function loadNewer(conversationId: string): Promise<number> {
    const thread = threadOf(conversationId);
    const newest = thread.messages.at(-1);
    if (thread.loadingNewer || !thread.hasNewer || !newest) return 0;
    thread.loadingNewer = true;
    try {
      const res = await api().messages.listMessages({
        conversationId,
        cursorSeq: newest.seq,
        direction: ListDirection.FORWARD,
        limit: messagePageSize,
      });
      let added = 0;
      for (const message of res.messages) if (putMessage(message)) added++;
      thread.hasNewer = res.hasMore;
      void users.ensure(res.messages.map((m) => m.senderId));
      return added;
    } finally {
      thread.loadingNewer = false;
    }
  }

  /**
   * Opens a conversation at `seq` (a search hit): the thread becomes a window of history on both
   * sides of it, unless it already holds that message.
   */
  async function openAround(conversationId: string, seq: bigint): Promise<void> {
    activeId.value = conversationId;
    const known = byId.value[conversationId];
    const metadata = !known || known.members.length === 0 ? fetchConversation(conversationId) : undefined;
    if (known) rememberMembers(known);
    const current = threads.value[conversationId];
    if (current?.loaded && current.messages.some((m) => m.seq === seq)) {
      await metadata;
      return;
    }
    const half = messagePageSize / 2;
    const [older, newer] = await Promise.all([
      api().messages.listMessages({ conversationId, cursorSeq: seq + 1n, direction: ListDirection.BACKWARD, limit: half }),
      api().messages.listMessages({ conversationId, cursorSeq: seq, direction: ListDirection.FORWARD, limit: half }),
      metadata,
    ]);
    const windowed = newThread();
    windowed.messages = [...older.messages].sort((a, b) => (a.seq < b.seq ? -1 : 1)).concat(newer.messages);
    windowed.loaded = true;
    windowed.hasOlder = older.hasMore;
    windowed.hasNewer = newer.hasMore;
    threads.value[conversationId] = windowed;
    const last = windowed.messages.at(-1);
    if (last) advanceCursor(conversationId, last.seq);
    void users.ensure(windowed.messages.map((m) => m.senderId));
  }

  /** Back to the newest page, e.g. "jump to latest" from a search hit's window. */
  async function reloadLatest(conversationId: string): Promise<void> {
    const res = await api().messages.listMessages({
      conversationId,
      cursorSeq: 0n,
      direction: ListDirection.BACKWARD,
      limit: messagePageSize,
    });
    // Swapped in whole, so the view never sees an empty thread in between.
    const latest = newThread();
    latest.messages = [...res.messages].sort((a, b) => (a.seq < b.seq ? -1 : 1));
    latest.loaded = true;
    latest.hasOlder = res.hasMore;
    threads.value[conversationId] = latest;
    const last = latest.messages.at(-1);
    if (last) advanceCursor(conversationId, last.seq);
  }

  /**
   * Messages up to `toSeq` could not be streamed. Only a thread this tab has loaded needs them
   * (others load their newest page when opened), so page forward from what it holds.
   */
  async function fillGap(conversationId: string, toSeq: bigint): Promise<void> {
    const thread = threads.value[conversationId];
    if (!thread?.loaded) return;
    let cursor = thread.messages.at(-1)?.seq ?? 0n;
    while (cursor < toSeq) {
      const res = await api().messages.listMessages({
        conversationId,
        cursorSeq: cursor,
        direction: ListDirection.FORWARD,
        limit: 200,
      });
      for (const message of res.messages) ingestMessage(message);
      const last = res.messages.at(-1);
      if (!last || !res.hasMore) break;
      cursor = last.seq;
    }
  }

  async function open(conversationId: string): Promise<void> {
    activeId.value = conversationId;
    const tasks: Promise<unknown>[] = [];
    const known = byId.value[conversationId];
    if (!known || (known.kind === ConversationKind.GROUP && known.members.length === 0)) {
      tasks.push(fetchConversation(conversationId));
    } else {
      rememberMembers(known);
    }
    if (!threadOf(conversationId).loaded) tasks.push(loadLatest(conversationId));
    await Promise.all(tasks);
  }

  function close(conversationId: string): void {
    if (activeId.value === conversationId) activeId.value = null;
  }

  /** A message from the edge (live or resumed) or from our own send. */
  function ingestMessage(message: Message): void {
    if (message.clientMessageId && message.senderId === session.userId) {
      const index = pending.value.findIndex((p) => p.clientMessageId === message.clientMessageId);
      if (index !== -1) pending.value.splice(index, 1);
    }
    const window = threads.value[message.conversationId];
    // A window around a search hit only grows at its end by paging (loadNewer), never with a gap.
    const isNew = window?.hasNewer ? (advanceCursor(message.conversationId, message.seq), false) : putMessage(message);
    void users.ensure([message.senderId]);
    const conversation = byId.value[message.conversationId];
    if (!conversation) {
      void fetchConversation(message.conversationId);
      return;
    }
    const advances = message.seq > conversation.lastSeq;
    if (advances || conversation.lastMessage?.id === message.id) {
      const mine = message.senderId === session.userId;
      const next: Conversation = {
        ...conversation,
        lastMessage: message,
        lastSeq: advances ? message.seq : conversation.lastSeq,
        lastActivityAt: message.createdAt ?? conversation.lastActivityAt,
      };
      if (advances && isNew && !mine && message.seq > conversation.readSeq) {
        next.unreadCount = conversation.unreadCount + 1n;
      }
      if (mine && message.seq > conversation.readSeq) {
        next.readSeq = message.seq;
        next.unreadCount = 0n;
      }
      byId.value[conversation.id] = next;
      place(conversation.id);
    }
    // A typing indicator ends when that person's message arrives.
    const typers = typing.value[message.conversationId];
    if (typers) delete typers[message.senderId];
  }

  /** Edited or deleted: replace in the thread and in the list preview. */
  function replaceMessage(message: Message): void {
    const thread = threads.value[message.conversationId];
    if (thread) {
      const index = thread.messages.findIndex((m) => m.id === message.id);
      if (index !== -1) thread.messages[index] = message;
    }
    const conversation = byId.value[message.conversationId];
    if (conversation?.lastMessage?.id === message.id) {
      byId.value[conversation.id] = { ...conversation, lastMessage: message };
    }
  }

  function applyConversationChange(change: ConversationChanged): void {
    const conversation = change.conversation;
    if (!conversation) return;
    if (change.change === ConversationChange.REMOVED) remove(conversation.id);
    else upsert(conversation);
  }

  function applyReadReceipt(receipt: ReadReceipt): void {
    const seqs = (readSeqs.value[receipt.conversationId] ??= {});
    if ((seqs[receipt.userId] ?? 0n) < receipt.readSeq) seqs[receipt.userId] = receipt.readSeq;
    if (receipt.userId !== session.userId) return;
    // Read on another device of ours.
    const conversation = byId.value[receipt.conversationId];
    if (conversation && conversation.readSeq < receipt.readSeq) {
      const unread = conversation.lastSeq > receipt.readSeq ? conversation.unreadCount : 0n;
      byId.value[conversation.id] = { ...conversation, readSeq: receipt.readSeq, unreadCount: unread };
    }
  }

  function applyTyping(conversationId: string, userId: string, expiresAtMs: number): void {
    if (userId === session.userId) return;
    (typing.value[conversationId] ??= {})[userId] = expiresAtMs;
  }

  function typersIn(conversationId: string, nowMs: number): string[] {
    const typers = typing.value[conversationId] ?? {};
    return Object.entries(typers)
      .filter(([, expires]) => expires > nowMs)
      .map(([userId]) => userId);
  }

  async function markRead(conversationId: string): Promise<void> {
    const conversation = byId.value[conversationId];
    const last = threads.value[conversationId]?.messages.at(-1);
    if (!conversation || !last || conversation.readSeq >= last.seq) return;
    byId.value[conversationId] = { ...conversation, readSeq: last.seq, unreadCount: 0n };
    const res = await api().messages.markRead({ conversationId, seq: last.seq });
    const latest = byId.value[conversationId];
    if (latest) byId.value[conversationId] = { ...latest, readSeq: res.readSeq, unreadCount: res.unreadCount };
  }

  async function forward(messageId: string, toConversationId: string): Promise<void> {
    const res = await api().messages.sendMessage({
      conversationId: toConversationId,
      clientMessageId: crypto.randomUUID(),
      forwardMessageId: messageId,
    });
    if (res.message) ingestMessage(res.message);
  }

  async function edit(messageId: string, text: string): Promise<void> {
    const res = await api().messages.editMessage({ messageId, text });
    if (res.message) replaceMessage(res.message);
  }

  async function removeMessage(messageId: string): Promise<void> {
    const res = await api().messages.deleteMessage({ messageId });
    if (res.message) replaceMessage(res.message);
  }

  async function openDirect(userId: string): Promise<string> {
    const res = await api().conversations.openDirect({ userId });
    if (!res.conversation) throw new Error("the server did not return the conversation");
    upsert(res.conversation);
    return res.conversation.id;
  }

  async function createGroup(title: string, memberIds: string[]): Promise<string> {
    const res = await api().conversations.createGroup({ title, memberIds });
    if (!res.conversation) throw new Error("the server did not return the group");
    upsert(res.conversation);
    return res.conversation.id;
  }

  async function addMembers(conversationId: string, userIds: string[]): Promise<void> {
    const res = await api().conversations.addMembers({ conversationId, userIds });
    if (res.conversation) upsert(res.conversation);
  }

  async function createInvite(conversationId: string): Promise<string> {
    const res = await api().conversations.createInvite({ conversationId });
    return res.invite?.code ?? "";
  }

  async function joinByInvite(code: string): Promise<string> {
    const res = await api().conversations.joinByInvite({ code });
    if (!res.conversation) throw new Error("the server did not return the group");
    upsert(res.conversation);
    return res.conversation.id;
  }

  function titleOf(conversation: Conversation): string {
    if (conversation.kind === ConversationKind.GROUP) return conversation.title || "Unnamed group";
    const other = conversation.members.find((m) => m.userId !== session.userId);
    return other ? users.displayName(other.userId) : conversation.title || "Direct chat";
  }

  function otherMemberId(conversation: Conversation): string | undefined {
    if (conversation.kind !== ConversationKind.DIRECT) return undefined;
    return conversation.members.find((m) => m.userId !== session.userId)?.userId;
  }

  function reset(): void {
    byId.value = {};
    orderedIds.value = [];
    nextPageToken.value = "";
    firstPageLoaded.value = false;
    threads.value = {};
    readSeqs.value = {};
    typing.value = {};
    activeId.value = null;
    pending.value = [];
    cursors = {};
  }

  return {
    byId,
    orderedIds,
    threads,
    readSeqs,
    typing,
    activeId,
    pending,
    loadingPage,
    hasMorePages,
    firstPageLoaded,
    totalUnread,
    restoreCursors,
    resumeCursors,
    loadNextPage,
    refreshFirstPage,
    fetchConversation,
    upsert,
    open,
    close,
    loadOlder,
    loadNewer,
    openAround,
    reloadLatest,
    fillGap,
    ingestMessage,
    replaceMessage,
    applyConversationChange,
    applyReadReceipt,
    applyTyping,
    typersIn,
    markRead,
    forward,
    edit,
    removeMessage,
    openDirect,
    createGroup,
    addMembers,
    createInvite,
    joinByInvite,
    titleOf,
    otherMemberId,
    reset,
  };
});
