import { defineStore } from "pinia";
import { ref } from "vue";
import type { Notification } from "@parley/gen/parley/notification/v1/notification_pb";
import { api } from "../api/parley";
import { useUsersStore } from "./users";

export const useNotificationsStore = defineStore("notifications", () => {
  const users = useUsersStore();
  const items = ref<Notification[]>([]);
  const unreadCount = ref(0);
  const nextPageToken = ref("");
  const loading = ref(false);

  async function load(): Promise<void> {
    loading.value = true;
    try {
      const [list, count] = await Promise.all([
        api().notifications.listNotifications({ pageSize: 30 }),
        api().notifications.getUnreadCount({}),
      ]);
      items.value = list.notifications;
      nextPageToken.value = list.nextPageToken;
      unreadCount.value = Number(count.unreadCount);
      void users.ensure(list.notifications.map((n) => n.actorId));
    } finally {
      loading.value = false;
    }
  }

  async function loadMore(): Promise<void> {
    if (!nextPageToken.value || loading.value) return;
    loading.value = true;
    try {
      const res = await api().notifications.listNotifications({ pageSize: 30, pageToken: nextPageToken.value });
      const known = new Set(items.value.map((n) => n.id));
      items.value.push(...res.notifications.filter((n) => !known.has(n.id)));
      nextPageToken.value = res.nextPageToken;
      void users.ensure(res.notifications.map((n) => n.actorId));
    } finally {
      loading.value = false;
    }
  }

  function add(notification: Notification): void {
    if (items.value.some((n) => n.id === notification.id)) return;
    items.value.unshift(notification);
    if (!notification.read) unreadCount.value += 1;
    void users.ensure([notification.actorId]);
  }

  async function markAllRead(): Promise<void> {
    if (unreadCount.value === 0) return;
    const res = await api().notifications.markNotificationsRead({ all: true });
    items.value = items.value.map((n) => (n.read ? n : { ...n, read: true, unreadMessageCount: 0 }));
    unreadCount.value = Number(res.unreadCount);
  }

  function reset(): void {
    items.value = [];
    unreadCount.value = 0;
    nextPageToken.value = "";
  }

  return { items, unreadCount, loading, nextPageToken, load, loadMore, add, markAllRead, reset };
});
