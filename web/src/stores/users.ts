import { defineStore } from "pinia";
import { ref } from "vue";
import type { User } from "@parley/gen/parley/identity/v1/user_pb";
import { api } from "../api/parley";

/** Profiles of everyone the app shows (senders, members, friends), fetched once each. */
export const useUsersStore = defineStore("users", () => {
  const byId = ref<Record<string, User>>({});
  const inFlight = new Map<string, Promise<void>>();

  function remember(users: Iterable<User | undefined>): void {
    for (const user of users) {
      if (user?.id) byId.value[user.id] = user;
    }
  }

  async function ensure(ids: Iterable<string>): Promise<void> {
    const pending: Promise<void>[] = [];
    for (const id of new Set(ids)) {
      if (!id || byId.value[id]) continue;
      let request = inFlight.get(id);
      if (!request) {
        request = api()
          .users.getUser({ userId: id })
          .then((res) => remember([res.user]))
          .catch(() => undefined)
          .finally(() => inFlight.delete(id));
        inFlight.set(id, request);
      }
      pending.push(request);
    }
    await Promise.all(pending);
  }

  function displayName(id: string): string {
    const user = byId.value[id];
    if (!user) return "…";
    return user.displayName || user.username;
  }

  function reset(): void {
    byId.value = {};
  }

  return { byId, remember, ensure, displayName, reset };
});
