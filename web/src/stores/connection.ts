import { defineStore } from "pinia";
import { ref, watch, type WatchStopHandle } from "vue";
import { RealtimeClient, type GapInfo, type RealtimeState, type SyncedInfo } from "@parley/sdk";
import { msOf } from "../lib/time";
import { deviceId } from "../lib/device-id";
import { useSessionStore } from "./session";
import { useConversationsStore } from "./conversations";
import { useFriendsStore } from "./friends";
import { useNotificationsStore } from "./notifications";

const typingThrottleMs = 3_000;
const typingFallbackMs = 6_000;

/** The realtime connection (SDK RealtimeClient) and where its events go. */
export const useConnectionStore = defineStore("connection", () => {
  const state = ref<RealtimeState>("closed");
  /** Set when the socket dropped after having been open, until it is back. */
  const wasInterrupted = ref(false);
  const justRecovered = ref(false);
  let client: RealtimeClient | null = null;
  let stopPresenceWatch: WatchStopHandle | undefined;
  let hasBeenOpen = false;
  let recoveredTimer: ReturnType<typeof setTimeout> | undefined;
  const lastTypingSent = new Map<string, number>();

  function onState(next: RealtimeState): void {
    state.value = next;
    if (next === "open") {
      if (wasInterrupted.value) {
        wasInterrupted.value = false;
        justRecovered.value = true;
        clearTimeout(recoveredTimer);
        recoveredTimer = setTimeout(() => (justRecovered.value = false), 4_000);
      }
      hasBeenOpen = true;
    } else if (hasBeenOpen && next === "connecting") {
      wasInterrupted.value = true;
      justRecovered.value = false;
    }
  }

  /**
   * Resume replays messages only (cursors). Notifications and conversation or friend changes
   * routed while the socket was away, or unacked when it dropped, are not replayed: after a
   * reconnect's catch-up the lists are fetched again (the SDK's `synced` contract).
   */
  function onSynced(info: SyncedInfo): void {
    if (!info.reconnect) return;
    void useConversationsStore().refreshFirstPage().catch(() => undefined);
    void useFriendsStore().loadAll().catch(() => undefined);
    void useNotificationsStore().load().catch(() => undefined);
  }

  /** A hole the edge could not stream: page it only where this tab shows history. */
  function onGap(gap: GapInfo): void {
    void useConversationsStore().fillGap(gap.conversationId, gap.toSeq).catch(() => undefined);
  }

  function start(wsUrl: string, cursors: Record<string, bigint>): void {
    if (client) return;
    const session = useSessionStore();
    const conversations = useConversationsStore();
    const friends = useFriendsStore();
    const notifications = useNotificationsStore();
    hasBeenOpen = false;
    const realtime = new RealtimeClient({
      url: wsUrl,
      deviceId: deviceId(),
      cursors,
      getAccessToken: async () => {
        const token = await session.accessToken();
        if (!token) throw new Error("logged out");
        return token;
      },
    });
    client = realtime;
    realtime.on("state", onState);
    realtime.on("message", (m) => conversations.ingestMessage(m));
    realtime.on("messageEdited", (m) => conversations.replaceMessage(m));
    realtime.on("messageDeleted", (m) => conversations.replaceMessage(m));
    realtime.on("conversation", (change) => conversations.applyConversationChange(change));
    realtime.on("notification", (n) => notifications.add(n));
    realtime.on("presence", (p) => friends.applyPresence(p));
    // Co-members' presence comes only for the conversation on screen (friends' always does):
    // the edge would otherwise fan every connect out to every member of every group.
    stopPresenceWatch = watch(
      () => conversations.activeId,
      (id) => realtime.subscribePresence(id ?? ""),
      { immediate: true },
    );
    realtime.on("typing", (t) =>
      conversations.applyTyping(t.conversationId, t.userId, msOf(t.expiresAt) || Date.now() + typingFallbackMs),
    );
    realtime.on("readReceipt", (r) => conversations.applyReadReceipt(r));
    realtime.on("friend", () => void friends.loadAll().catch(() => undefined));
    realtime.on("gap", onGap);
    realtime.on("synced", onSynced);
    realtime.on("error", (err) => {
      if (err.code === "unauthenticated" && err.closeCode !== undefined) {
        // The socket's token was refused; if the session cannot produce a new one it has ended.
        void session.accessToken().then((token) => {
          if (!token) void session.end();
        });
      }
    });
  }

  function stop(): void {
    stopPresenceWatch?.();
    stopPresenceWatch = undefined;
    client?.close();
    client = null;
    wasInterrupted.value = false;
    justRecovered.value = false;
    state.value = "closed";
  }

  /** Called on every keystroke; the edge hears at most one signal per throttle window. */
  function typingIn(conversationId: string): void {
    const now = Date.now();
    if (now - (lastTypingSent.get(conversationId) ?? 0) < typingThrottleMs) return;
    if (client?.sendTyping(conversationId)) lastTypingSent.set(conversationId, now);
  }

  function cursors(): Record<string, bigint> {
    return client?.cursors() ?? {};
  }

  return { state, wasInterrupted, justRecovered, start, stop, typingIn, cursors };
});
