import { defineStore } from "pinia";
import { ref } from "vue";
import type { ServerFrame } from "@parley/gen/parley/realtime/v1/frames_pb";
import { msOf } from "../lib/time";
import { deviceId } from "../lib/device-id";
import type { ConnectionState, RealtimeConnection } from "../realtime/connection";
import { openProvisionalSocket } from "../realtime/provisional-socket";
import { useSessionStore } from "./session";
import { useConversationsStore } from "./conversations";
import { useFriendsStore } from "./friends";
import { useNotificationsStore } from "./notifications";

const typingThrottleMs = 3_000;
const typingFallbackMs = 6_000;

/** The realtime socket and where its frames go. */
export const useConnectionStore = defineStore("connection", () => {
  const state = ref<ConnectionState>("closed");
  /** Set when the socket dropped after having been open, until it is back. */
  const wasInterrupted = ref(false);
  const justRecovered = ref(false);
  let connection: RealtimeConnection | null = null;
  let hasBeenOpen = false;
  let recoveredTimer: ReturnType<typeof setTimeout> | undefined;
  const lastTypingSent = new Map<string, number>();

  function route(frame: ServerFrame): void {
    const conversations = useConversationsStore();
    const friends = useFriendsStore();
    const notifications = useNotificationsStore();
    const kind = frame.kind;
    switch (kind.case) {
      case "message":
        conversations.ingestMessage(kind.value);
        break;
      case "messageEdited":
      case "messageDeleted":
        conversations.replaceMessage(kind.value);
        break;
      case "conversation":
        conversations.applyConversationChange(kind.value);
        break;
      case "notification":
        notifications.add(kind.value);
        break;
      case "presence":
        friends.applyPresence(kind.value);
        break;
      case "typing": {
        const expires = msOf(kind.value.expiresAt) || Date.now() + typingFallbackMs;
        conversations.applyTyping(kind.value.conversationId, kind.value.userId, expires);
        break;
      }
      case "readReceipt":
        conversations.applyReadReceipt(kind.value);
        break;
      case "friend":
        void friends.loadAll();
        break;
      case "gap":
        void conversations.fillGap(kind.value.conversationId, kind.value.fromSeq, kind.value.toSeq);
        break;
      default:
        break;
    }
  }

  function onState(next: ConnectionState): void {
    state.value = next;
    if (next === "open") {
      if (hasBeenOpen && wasInterrupted.value) {
        wasInterrupted.value = false;
        justRecovered.value = true;
        clearTimeout(recoveredTimer);
        recoveredTimer = setTimeout(() => (justRecovered.value = false), 4_000);
        // Whatever was missed outside the resumed conversations: list order, requests, feed.
        void useConversationsStore().refreshFirstPage().catch(() => undefined);
        void useFriendsStore().loadAll().catch(() => undefined);
        void useNotificationsStore().load().catch(() => undefined);
      }
      hasBeenOpen = true;
    } else if (next === "reconnecting" && hasBeenOpen) {
      wasInterrupted.value = true;
      justRecovered.value = false;
    }
  }

  function start(wsUrl: string): void {
    if (connection) return;
    const session = useSessionStore();
    const conversations = useConversationsStore();
    hasBeenOpen = false;
    connection = openProvisionalSocket({
      url: wsUrl,
      deviceId: deviceId(),
      accessToken: () => session.accessToken(),
      cursors: () => conversations.currentCursors(),
      onFrame: route,
      onState,
    });
  }

  function stop(): void {
    connection?.close();
    connection = null;
    wasInterrupted.value = false;
    justRecovered.value = false;
  }

  /** Called on every keystroke; the edge hears at most one signal per throttle window. */
  function typingIn(conversationId: string): void {
    const now = Date.now();
    if (now - (lastTypingSent.get(conversationId) ?? 0) < typingThrottleMs) return;
    lastTypingSent.set(conversationId, now);
    connection?.sendTyping(conversationId);
  }

  return { state, wasInterrupted, justRecovered, start, stop, typingIn };
});
