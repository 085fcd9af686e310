import { defineStore } from "pinia";
import { ref } from "vue";
import type { Conversation } from "@parley/gen/parley/chat/v1/conversation_pb";
import type { Message } from "@parley/gen/parley/chat/v1/message_pb";
import { api } from "../api/parley";
import { describeError } from "../lib/errors";
import { useConversationsStore } from "./conversations";
import { useUsersStore } from "./users";

const debounceMs = 250;
const pageSize = 20;

/** The conversation list's search box: conversation titles and message text, as you type. */
export const useSearchStore = defineStore("search", () => {
  const conversations = useConversationsStore();
  const users = useUsersStore();
  const query = ref("");
  /** The query the shown results belong to. */
  const resultsFor = ref("");
  const conversationHits = ref<Conversation[]>([]);
  const messageHits = ref<Message[]>([]);
  const nextPageToken = ref("");
  const loading = ref(false);
  const loadingMore = ref(false);
  const error = ref("");
  let timer: ReturnType<typeof setTimeout> | undefined;
  let generation = 0;

  function setQuery(value: string): void {
    query.value = value;
    clearTimeout(timer);
    if (value.trim() === "") {
      clear();
      return;
    }
    loading.value = true;
    timer = setTimeout(() => void run(value.trim()), debounceMs);
  }

  function clear(): void {
    generation++;
    clearTimeout(timer);
    query.value = "";
    resultsFor.value = "";
    conversationHits.value = [];
    messageHits.value = [];
    nextPageToken.value = "";
    loading.value = false;
    error.value = "";
  }

  async function run(text: string): Promise<void> {
    const mine = ++generation;
    loading.value = true;
    error.value = "";
    try {
      const [byTitle, byText] = await Promise.all([
        api().conversations.searchConversations({ query: text, pageSize }),
        api().messages.searchMessages({ query: text, pageSize }),
      ]);
      if (mine !== generation) return;
      for (const conversation of byTitle.conversations) conversations.upsert(conversation);
      conversationHits.value = byTitle.conversations;
      messageHits.value = byText.messages;
      nextPageToken.value = byText.nextPageToken;
      resultsFor.value = text;
      void knowAbout(byText.messages);
    } catch (err) {
      if (mine !== generation) return;
      error.value = describeError(err);
    } finally {
      if (mine === generation) loading.value = false;
    }
  }

  async function loadMore(): Promise<void> {
    if (!nextPageToken.value || loadingMore.value) return;
    const mine = generation;
    loadingMore.value = true;
    try {
      const res = await api().messages.searchMessages({
        query: resultsFor.value,
        pageSize,
        pageToken: nextPageToken.value,
      });
      if (mine !== generation) return;
      const seen = new Set(messageHits.value.map((m) => m.id));
      messageHits.value.push(...res.messages.filter((m) => !seen.has(m.id)));
      nextPageToken.value = res.nextPageToken;
      void knowAbout(res.messages);
    } catch (err) {
      if (mine === generation) error.value = describeError(err);
    } finally {
      loadingMore.value = false;
    }
  }

  /** Hits name their conversation and sender; fetch what the list has not loaded yet. */
  async function knowAbout(messages: readonly Message[]): Promise<void> {
    void users.ensure(messages.map((m) => m.senderId));
    const missing = [...new Set(messages.map((m) => m.conversationId))].filter((id) => !conversations.byId[id]);
    await Promise.all(missing.map((id) => conversations.fetchConversation(id).catch(() => undefined)));
  }

  return {
    query,
    resultsFor,
    conversationHits,
    messageHits,
    nextPageToken,
    loading,
    loadingMore,
    error,
    setQuery,
    clear,
    loadMore,
  };
});
