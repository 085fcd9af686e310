/**
 * A logged-in session: keeps the access and refresh tokens, refreshes the
 * access token before it expires (one refresh at a time, however many calls
 * need a token meanwhile) and installs itself as the client's token source,
 * so every call made with that client carries the session's token.
 */
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import type { User } from "@parley/gen/parley/identity/v1/user_pb";
import type { ParleyClient } from "./clients.js";

export interface SessionTokens {
  userId: string;
  accessToken: string;
  accessExpiresAtMs: number;
  refreshToken: string;
  refreshExpiresAtMs: number;
}

/** Where tokens survive a reload. Sync or async, so localStorage and native keychains both fit. */
export interface SessionStorage {
  load(): SessionTokens | undefined | Promise<SessionTokens | undefined>;
  save(tokens: SessionTokens): void | Promise<void>;
  clear(): void | Promise<void>;
}

export interface Session {
  /** Logs in with an email address or username. */
  login(login: string, password: string): Promise<User | undefined>;
  /** Picks up tokens kept by the storage; false when there were none (or the refresh token expired). */
  resume(): Promise<boolean>;
  /** A valid access token (refreshed first if it is about to expire), or undefined when logged out. */
  accessToken(): Promise<string | undefined>;
  /** Forces a refresh now (single-flight). */
  refresh(): Promise<void>;
  /** Revokes the session on the server and forgets the tokens, even if the server cannot be reached. */
  logout(): Promise<void>;
  readonly userId: string | undefined;
  readonly loggedIn: boolean;
  /** Called after login, refresh and logout (e.g. to update a UI store). */
  onChange(listener: (loggedIn: boolean) => void): () => void;
}

/** Tokens in memory only: gone with the process. */
export function memoryStorage(): SessionStorage {
  let kept: SessionTokens | undefined;
  return { load: () => kept, save: (t) => void (kept = t), clear: () => void (kept = undefined) };
}

/** Tokens in a Web Storage area (`localStorage`, `sessionStorage`) under one key. */
export function webStorage(area: Storage, key = "parley.session"): SessionStorage {
  return {
    load: () => {
      const raw = area.getItem(key);
      return raw ? (JSON.parse(raw) as SessionTokens) : undefined;
    },
    save: (t) => area.setItem(key, JSON.stringify(t)),
    clear: () => area.removeItem(key),
  };
}

/** Refresh this long before the access token expires, so a call in flight never carries an expired one. */
const REFRESH_AHEAD_MS = 60_000;
/** ...but for short-lived tokens, never earlier than at this fraction of their life. */
const REFRESH_AT_LIFETIME_FRACTION = 0.8;

/** Runs `fn` while holding a lock shared by every holder of the same storage (e.g. all tabs). */
export type SessionLock = <T>(fn: () => Promise<T>) => Promise<T>;

export interface SessionOptions {
  /**
   * Serialises refreshes across holders of one storage. Refresh tokens rotate
   * with reuse detection, so two tabs refreshing the same token at once would
   * end the session; with a lock, the second finds the first's new tokens in
   * storage and adopts them instead. Browsers: `webLock()`.
   */
  lock?: SessionLock;
}

/** A `SessionLock` on the Web Locks API (all tabs of an origin); a no-op where it is missing. */
export function webLock(name = "parley.session.refresh"): SessionLock {
  return (fn) => {
    const locks = (globalThis.navigator as { locks?: { request<T>(name: string, cb: () => Promise<T>): Promise<T> } } | undefined)?.locks;
    return locks ? locks.request(name, fn) : fn();
  };
}

export function createSession(client: ParleyClient, storage: SessionStorage = memoryStorage(), options: SessionOptions = {}): Session {
  const lock: SessionLock = options.lock ?? ((fn) => fn());
  let tokens: SessionTokens | undefined;
  let issuedAtMs = 0;
  let refreshing: Promise<void> | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const listeners = new Set<(loggedIn: boolean) => void>();

  function refreshDueAtMs(t: SessionTokens): number {
    const lifetime = t.accessExpiresAtMs - issuedAtMs;
    return Math.max(t.accessExpiresAtMs - REFRESH_AHEAD_MS, issuedAtMs + lifetime * REFRESH_AT_LIFETIME_FRACTION);
  }

  async function adopt(next: SessionTokens): Promise<void> {
    tokens = next;
    issuedAtMs = Date.now();
    await storage.save(next);
    schedule();
    for (const l of listeners) l(true);
  }

  async function forget(): Promise<void> {
    tokens = undefined;
    if (timer) clearTimeout(timer);
    timer = undefined;
    await storage.clear();
    for (const l of listeners) l(false);
  }

  // A timer as well as the on-demand check, so a long-lived socket that
  // re-authenticates with accessToken() finds a fresh token waiting.
  function schedule(): void {
    if (timer) clearTimeout(timer);
    if (!tokens) return;
    const delay = Math.max(0, refreshDueAtMs(tokens) - Date.now());
    timer = setTimeout(() => void refresh().catch(() => undefined), delay);
    // In Node, a pending refresh must not keep the process alive.
    (timer as { unref?: () => void }).unref?.();
  }

  function refresh(): Promise<void> {
    refreshing ??= lock(async () => {
      const current = tokens;
      if (!current) throw new ConnectError("not logged in", Code.Unauthenticated);
      // Another holder of this storage may have rotated the tokens while we waited.
      const stored = await storage.load();
      if (stored && stored.userId === current.userId && stored.refreshToken !== current.refreshToken && stored.accessExpiresAtMs > Date.now()) {
        await adopt(stored);
        return;
      }
      try {
        const res = await client.auth.refresh({ refreshToken: current.refreshToken });
        await adopt({
          userId: current.userId,
          accessToken: res.accessToken,
          accessExpiresAtMs: res.accessExpiresAt ? timestampMs(res.accessExpiresAt) : Date.now(),
          refreshToken: res.refreshToken,
          refreshExpiresAtMs: res.refreshExpiresAt ? timestampMs(res.refreshExpiresAt) : current.refreshExpiresAtMs,
        });
      } catch (err) {
        // A rejected refresh token (expired, revoked, reused) ends the session;
        // a network failure does not: the next call retries.
        if (ConnectError.from(err).code === Code.Unauthenticated) await forget();
        throw err;
      }
    }).finally(() => (refreshing = undefined));
    return refreshing;
  }

  const session: Session = {
    async login(login, password) {
      const res = await client.auth.login({ login, password });
      await adopt({
        userId: res.user?.id ?? "",
        accessToken: res.accessToken,
        accessExpiresAtMs: res.accessExpiresAt ? timestampMs(res.accessExpiresAt) : Date.now(),
        refreshToken: res.refreshToken,
        refreshExpiresAtMs: res.refreshExpiresAt ? timestampMs(res.refreshExpiresAt) : Number.MAX_SAFE_INTEGER,
      });
      return res.user;
    },

    async resume() {
      const saved = await storage.load();
      if (!saved || saved.refreshExpiresAtMs <= Date.now()) return false;
      tokens = saved;
      issuedAtMs = Date.now();
      schedule();
      for (const l of listeners) l(true);
      return true;
    },

    async accessToken() {
      if (refreshing) await refreshing.catch(() => undefined);
      if (!tokens) return undefined;
      if (Date.now() >= refreshDueAtMs(tokens)) {
        await refresh().catch(() => undefined);
      }
      // After a failed refresh, a token that has not expired yet is still worth sending.
      return tokens && tokens.accessExpiresAtMs > Date.now() ? tokens.accessToken : undefined;
    },

    refresh,

    async logout() {
      const current = tokens;
      try {
        if (current) await client.auth.logout({ refreshToken: current.refreshToken });
      } finally {
        await forget();
      }
    },

    get userId() {
      return tokens?.userId;
    },
    get loggedIn() {
      return tokens !== undefined;
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  client.useAccessToken(() => session.accessToken());
  return session;
}
