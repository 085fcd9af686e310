import { defineStore } from "pinia";
import { ref } from "vue";
import {
  FriendRequestDirection,
  type Friend,
  type FriendRequest,
} from "@parley/gen/parley/identity/v1/friend_pb";
import type { User } from "@parley/gen/parley/identity/v1/user_pb";
import type { PresenceChanged } from "@parley/gen/parley/realtime/v1/frames_pb";
import { api } from "../api/parley";
import { msOf } from "../lib/time";
import { useUsersStore } from "./users";

export interface Presence {
  online: boolean;
  lastSeenAtMs: number;
}

export const useFriendsStore = defineStore("friends", () => {
  const users = useUsersStore();
  const friends = ref<Friend[]>([]);
  const incoming = ref<FriendRequest[]>([]);
  const outgoing = ref<FriendRequest[]>([]);
  const presence = ref<Record<string, Presence>>({});
  const loaded = ref(false);

  async function listAll<T>(fetchPage: (pageToken: string) => Promise<{ items: T[]; next: string }>): Promise<T[]> {
    const all: T[] = [];
    let token = "";
    do {
      const page = await fetchPage(token);
      all.push(...page.items);
      token = page.next;
    } while (token);
    return all;
  }

  async function loadFriends(): Promise<void> {
    friends.value = await listAll(async (pageToken) => {
      const res = await api().friends.listFriends({ pageSize: 100, pageToken });
      return { items: res.friends, next: res.nextPageToken };
    });
    users.remember(friends.value.map((f) => f.user));
  }

  async function loadRequests(): Promise<void> {
    const [inbound, outbound] = await Promise.all(
      [FriendRequestDirection.INCOMING, FriendRequestDirection.OUTGOING].map((direction) =>
        listAll(async (pageToken) => {
          const res = await api().friends.listFriendRequests({ direction, pageSize: 100, pageToken });
          return { items: res.requests, next: res.nextPageToken };
        }),
      ),
    );
    incoming.value = inbound ?? [];
    outgoing.value = outbound ?? [];
    users.remember([...incoming.value, ...outgoing.value].flatMap((r) => [r.from, r.to]));
  }

  async function loadAll(): Promise<void> {
    await Promise.all([loadFriends(), loadRequests()]);
    loaded.value = true;
  }

  async function search(query: string): Promise<User[]> {
    const res = await api().users.searchUsers({ query, pageSize: 20 });
    users.remember(res.users);
    return res.users;
  }

  async function sendRequest(userId: string): Promise<void> {
    const res = await api().friends.sendFriendRequest({ target: { case: "userId", value: userId } });
    if (res.request) outgoing.value = [res.request, ...outgoing.value.filter((r) => r.id !== res.request?.id)];
  }

  async function respond(requestId: string, accept: boolean): Promise<void> {
    await api().friends.respondToFriendRequest({ requestId, accept });
    incoming.value = incoming.value.filter((r) => r.id !== requestId);
    if (accept) await loadFriends();
  }

  async function cancel(requestId: string): Promise<void> {
    await api().friends.cancelFriendRequest({ requestId });
    outgoing.value = outgoing.value.filter((r) => r.id !== requestId);
  }

  async function removeFriend(userId: string): Promise<void> {
    await api().friends.removeFriend({ userId });
    friends.value = friends.value.filter((f) => f.user?.id !== userId);
  }

  function applyPresence(change: PresenceChanged): void {
    presence.value[change.userId] = { online: change.online, lastSeenAtMs: msOf(change.lastSeenAt) };
  }

  function isFriend(userId: string): boolean {
    return friends.value.some((f) => f.user?.id === userId);
  }

  function hasPendingWith(userId: string): boolean {
    return [...incoming.value, ...outgoing.value].some((r) => r.from?.id === userId || r.to?.id === userId);
  }

  function reset(): void {
    friends.value = [];
    incoming.value = [];
    outgoing.value = [];
    presence.value = {};
    loaded.value = false;
  }

  return {
    friends,
    incoming,
    outgoing,
    presence,
    loaded,
    loadAll,
    loadFriends,
    loadRequests,
    search,
    sendRequest,
    respond,
    cancel,
    removeFriend,
    applyPresence,
    isFriend,
    hasPendingWith,
    reset,
  };
});
