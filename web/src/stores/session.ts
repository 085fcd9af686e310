import { defineStore } from "pinia";
import { computed, ref } from "vue";
import type { User } from "@parley/gen/parley/identity/v1/user_pb";
import { createSession, webLock, webStorage, type Session } from "@parley/sdk/session";
import { api } from "../api/parley";
import { isUnauthenticated } from "../lib/errors";

const tokensKey = "parley.session";
const profileKey = "parley.profile";

export interface SessionUser {
  id: string;
  username: string;
  displayName: string;
  email: string;
}

function readProfile(): SessionUser | null {
  try {
    const raw = localStorage.getItem(profileKey);
    return raw ? (JSON.parse(raw) as SessionUser) : null;
  } catch {
    return null;
  }
}

function toSessionUser(user: User): SessionUser {
  return { id: user.id, username: user.username, displayName: user.displayName, email: user.email };
}

/**
 * Tokens live in the SDK session, persisted in localStorage so a reopened tab is still logged in.
 * Refresh tokens rotate and reuse revokes the family, so when another tab rotates (or logs out)
 * this tab picks the new tokens up from storage instead of refreshing with a spent one.
 */
export const useSessionStore = defineStore("session", () => {
  let sdkSession: Session | undefined;
  const loggedIn = ref(false);
  const user = ref<SessionUser | null>(readProfile());
  const endedListeners = new Set<() => void>();

  const userId = computed(() => (loggedIn.value ? (user.value?.id ?? sdkSession?.userId ?? "") : ""));
  const isLoggedIn = computed(() => loggedIn.value);

  function sessionOrThrow(): Session {
    if (!sdkSession) throw new Error("session used before init()");
    return sdkSession;
  }

  function setProfile(next: SessionUser | null): void {
    user.value = next;
    if (next) localStorage.setItem(profileKey, JSON.stringify(next));
    else localStorage.removeItem(profileKey);
  }

  function notifyEnded(): void {
    setProfile(null);
    for (const listener of endedListeners) listener();
  }

  /** Restores a persisted session; call once at startup, before the app mounts. */
  async function init(): Promise<void> {
    sdkSession = createSession(api(), webStorage(localStorage, tokensKey), { lock: webLock() });
    sdkSession.onChange((now) => {
      const was = loggedIn.value;
      loggedIn.value = now;
      if (was && !now) notifyEnded();
    });
    loggedIn.value = await sdkSession.resume();
    if (loggedIn.value && (!user.value || user.value.id !== sdkSession.userId)) {
      await loadProfile().catch(() => undefined);
    }
    window.addEventListener("storage", (event) => {
      if (event.key !== tokensKey) return;
      if (event.newValue === null) {
        if (loggedIn.value) void sdkSession?.logout().catch(() => undefined);
      } else {
        void sdkSession?.resume().then(() => {
          if (!user.value) void loadProfile().catch(() => undefined);
        });
      }
    });
  }

  async function loadProfile(): Promise<void> {
    const res = await api().users.getMe({});
    if (res.user) setProfile(toSessionUser(res.user));
  }

  async function accessToken(): Promise<string | undefined> {
    return sdkSession?.accessToken();
  }

  async function login(login: string, password: string): Promise<void> {
    const me = await sessionOrThrow().login(login, password);
    if (me) setProfile(toSessionUser(me));
    else await loadProfile();
  }

  async function logout(): Promise<void> {
    await sessionOrThrow().logout();
  }

  /** The server said our tokens are no good (revoked, expired): forget them locally. */
  async function end(): Promise<void> {
    await sdkSession?.logout().catch(() => undefined);
  }

  function onEnded(listener: () => void): () => void {
    endedListeners.add(listener);
    return () => endedListeners.delete(listener);
  }

  function handleError(err: unknown): void {
    if (isUnauthenticated(err)) void end();
  }

  return { user, userId, isLoggedIn, init, accessToken, login, logout, end, onEnded, handleError };
});
