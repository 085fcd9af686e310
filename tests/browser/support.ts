/**
 * Shared set-up for the browser suites: the embedded product, people created through the API
 * (registering through the UI is covered once, in chat-flow), and a realtime edge the test can
 * cut off and bring back.
 */
import { startEmbedded, type EmbeddedParley } from "@parley/embedded";
import { createParleyClient, createSession, type ParleyClient } from "@parley/sdk";
import { waitFor } from "@parley/platform/testing";
import type { Browser, BrowserContext, Page, WebSocketRoute } from "playwright-core";
import { logIn, newPerson, type TestUser } from "./harness.js";

export { waitFor };

export async function startParley(env: Record<string, string> = {}): Promise<EmbeddedParley> {
  return startEmbedded({
    port: 0,
    wsPort: 0,
    env: { DATA_DIR: "memory", LOG_LEVEL: "warn", RATE_LIMIT_SCALE: "10", ...env },
  });
}

export interface ApiUser {
  user: TestUser;
  id: string;
  client: ParleyClient;
}

/** Registers, verifies through the dev mailbox and logs in over the API. */
export async function createApiUser(apiUrl: string, user: TestUser): Promise<ApiUser> {
  const client = createParleyClient({ baseUrl: apiUrl });
  await client.auth.register({
    email: user.email,
    username: user.username,
    password: user.password,
    displayName: user.displayName,
  });
  let token = "";
  await waitFor(
    async () => {
      const { mails } = await client.devMailbox.listDevMail({ to: user.email });
      token = new URL(mails.at(-1)?.link ?? "http://x/").searchParams.get("token") ?? "";
      return token !== "";
    },
    { timeoutMs: 15_000 },
  );
  await client.auth.verifyEmail({ token });
  const me = await createSession(client).login(user.username, user.password);
  if (!me) throw new Error(`${user.username} could not log in`);
  return { user, id: me.id, client };
}

/** Makes two API users friends and opens their direct conversation; returns its id. */
export async function befriend(a: ApiUser, b: ApiUser): Promise<string> {
  const request = await a.client.friends.sendFriendRequest({ target: { case: "userId", value: b.id } });
  const requestId = request.request?.id;
  if (!requestId) throw new Error("no friend request id");
  await b.client.friends.respondToFriendRequest({ requestId, accept: true });
  let conversationId = "";
  // Chat learns about the friendship from an event; retry until its projection has it.
  await waitFor(
    async () => {
      conversationId = (await a.client.conversations.openDirect({ userId: b.id })).conversation?.id ?? "";
      return conversationId !== "";
    },
    { timeoutMs: 15_000 },
  );
  return conversationId;
}

/** Runs `task` for 0..count-1 with at most `concurrency` in flight. */
export async function inParallel(count: number, concurrency: number, task: (index: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const index = next++;
      await task(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

/** A browser page logged in as `user` through the login form. */
export async function loggedInPage(
  browser: Browser,
  parley: EmbeddedParley,
  user: TestUser,
  options: Parameters<typeof newPerson>[2] = {},
): Promise<{ context: BrowserContext; page: Page }> {
  const person = await newPerson(browser, parley.apiUrl, options);
  await logIn(person.page, user);
  await person.page.getByTestId("conversation-list").waitFor();
  return person;
}

/**
 * Puts the page's realtime socket behind a switch: `cut()` closes it and refuses reconnects and
 * takes the browser offline (so API calls fail too), `restore()` lets everything through again.
 * Call before the page opens the socket (before logging in or navigating).
 */
export async function realtimeSwitch(page: Page, wsUrl: string): Promise<{ cut(): Promise<void>; restore(): Promise<void> }> {
  let down = false;
  const open = new Set<{ page: WebSocketRoute; server: WebSocketRoute }>();
  await page.routeWebSocket(`${new URL(wsUrl).origin}/**`, (ws) => {
    if (down) {
      void ws.close({ code: 4001, reason: "cut by the test" }).catch(() => undefined);
      return;
    }
    // No onClose handlers: Playwright then forwards a close on either side to the other.
    open.add({ page: ws, server: ws.connectToServer() });
  });
  return {
    async cut() {
      // Only an established connection can be lost: the app opens its socket after its first
      // page of conversations, so cutting earlier would just delay the first connect.
      await page.locator('[data-connection="open"]').waitFor();
      down = true;
      await page.context().setOffline(true);
      for (const pair of [...open]) {
        await pair.page.close({ code: 4000, reason: "cut by the test" }).catch(() => undefined);
        await pair.server.close().catch(() => undefined);
      }
      open.clear();
    },
    async restore() {
      down = false;
      await page.context().setOffline(false);
    },
  };
}
