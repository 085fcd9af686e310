import type { RuntimeConfig } from "./runtime-config";
import { useSessionStore } from "../stores/session";
import { useConversationsStore } from "../stores/conversations";
import { useFriendsStore } from "../stores/friends";
import { useNotificationsStore } from "../stores/notifications";
import { useConnectionStore } from "../stores/connection";
import { useUsersStore } from "../stores/users";

/** Everything a signed-in tab runs: first data loads and the realtime socket. */
export function startSignedIn(config: RuntimeConfig): void {
  const session = useSessionStore();
  if (!session.isLoggedIn) return;
  const conversations = useConversationsStore();
  conversations.restoreCursors();
  void useFriendsStore().loadAll().catch(() => undefined);
  void useNotificationsStore().load().catch(() => undefined);
  // The socket starts after the first page so it resumes from the listed conversations' seqs.
  void conversations
    .loadNextPage()
    .catch(() => undefined)
    .finally(() => {
      if (session.isLoggedIn) useConnectionStore().start(config.wsUrl, conversations.resumeCursors());
    });
}

export function stopSignedIn(): void {
  useConnectionStore().stop();
  useConversationsStore().reset();
  useFriendsStore().reset();
  useNotificationsStore().reset();
  useUsersStore().reset();
}
