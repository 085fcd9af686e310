/**
 * The product end to end in a real browser: three people register, verify through the dev
 * mailbox, befriend each other live, chat 1-1 and in a group (joined by invite code), a second
 * tab gets the same messages, and a reopened tab restores the conversation with its history.
 * Screenshots of the main screens go to test-artifacts/screenshots/.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { startEmbedded, type EmbeddedParley } from "@parley/embedded";
import {
  conversationIdFromUrl,
  fill,
  launchChromium,
  logIn,
  makeUser,
  messageText,
  newPerson,
  registerAndVerify,
  screenshot,
  sendMessage,
  type TestUser,
} from "./harness.js";

const runId = Date.now().toString(36).slice(-5);
const alice = makeUser("Alice", runId);
const bob = makeUser("Bob", runId);
const carol = makeUser("Carol", runId);

let parley: EmbeddedParley;
let browser: Browser;
const people = new Map<TestUser, { context: BrowserContext; page: Page }>();
let directConversationId = "";

function pageOf(user: TestUser): Page {
  const person = people.get(user);
  if (!person) throw new Error(`${user.displayName} has no browser yet`);
  return person.page;
}

beforeAll(async () => {
  parley = await startEmbedded({
    port: 0,
    wsPort: 0,
    env: { DATA_DIR: "memory", LOG_LEVEL: "warn", RATE_LIMIT_SCALE: "10" },
  });
  browser = await launchChromium();
  for (const user of [alice, bob, carol]) people.set(user, await newPerson(browser, parley.apiUrl));
});

afterAll(async () => {
  await browser?.close();
  await parley?.close();
});

describe("Parley in the browser", () => {
  it("shows the server's validation errors next to the register fields", async () => {
    const page = pageOf(alice);
    await page.goto("/register");
    await fill(page, "register-email", "not-an-email");
    await fill(page, "register-username", alice.username);
    await fill(page, "register-password", "short");
    await page.getByTestId("register-submit").click();
    // The server answers one problem at a time, naming the field; it shows under that field.
    const emailError = page.getByTestId("register-email-error");
    await emailError.waitFor();
    expect(await emailError.textContent()).toMatch(/email/i);
    await fill(page, "register-email", alice.email);
    await page.getByTestId("register-submit").click();
    await page.getByTestId("register-password-error").waitFor();
    await screenshot(page, "register-errors");
  });

  it("registers, verifies through the dev mailbox and logs in", async () => {
    const loginPage = pageOf(carol);
    await loginPage.goto("/login");
    await loginPage.getByTestId("login-submit").waitFor();
    await screenshot(loginPage, "login");

    const registerPage = pageOf(bob);
    await registerPage.goto("/register");
    await registerPage.getByTestId("register-submit").waitFor();
    await screenshot(registerPage, "register");

    for (const user of [alice, bob, carol]) {
      const page = pageOf(user);
      await registerAndVerify(page, user);
      await logIn(page, user);
    }
    await pageOf(alice).getByTestId("conversation-list").waitFor();
  });

  it("sends a friend request that the other side sees and accepts live", async () => {
    const alicePage = pageOf(alice);
    const bobPage = pageOf(bob);
    await bobPage.getByTestId("nav-friends").click();
    await bobPage.getByTestId("tab-requests").click();

    await alicePage.getByTestId("nav-friends").click();
    await alicePage.getByTestId("tab-add-friend").click();
    await fill(alicePage, "people-search-input", bob.username);
    await alicePage.getByTestId("people-search-submit").click();
    const result = alicePage.locator(`[data-testid="people-result"][data-username="${bob.username}"]`);
    await result.getByTestId("send-request").click();
    await result.getByTestId("request-pending").waitFor();

    // Bob never reloads: the request arrives over the realtime socket.
    const incoming = bobPage.locator(`[data-testid="incoming-request"][data-username="${alice.username}"]`);
    await incoming.waitFor();
    await incoming.getByTestId("request-accept").click();
    await bobPage.locator(`[data-testid="friend-row"][data-username="${alice.username}"]`).waitFor({ state: "attached" });

    await alicePage.getByText(/^Friends \(1\)$/).click();
    await alicePage.locator(`[data-testid="friend-row"][data-username="${bob.username}"]`).waitFor();
    await screenshot(alicePage, "friends");
  });

  it("chats both ways without reloading, with typing and read receipts", async () => {
    const alicePage = pageOf(alice);
    const bobPage = pageOf(bob);
    await alicePage
      .locator(`[data-testid="friend-row"][data-username="${bob.username}"]`)
      .getByTestId("friend-message")
      .click();
    await alicePage.waitForURL(/\/chats\/.+/);
    directConversationId = conversationIdFromUrl(alicePage);
    await sendMessage(alicePage, "Hi Bob, it's Alice");

    await bobPage.getByTestId("nav-chats").click();
    const row = bobPage.locator(`[data-testid="conversation-row"][data-conversation-id="${directConversationId}"]`);
    await row.waitFor();
    await row.click();
    await messageText(bobPage, "Hi Bob, it's Alice").waitFor();

    // Typing shows on the other side while Bob writes.
    await fill(bobPage, "composer-input", "typing something…");
    await alicePage.getByTestId("typing-indicator").filter({ hasText: "Bob is typing" }).waitFor();
    await fill(bobPage, "composer-input", "");

    await sendMessage(bobPage, "Hey Alice! Good to see you here");
    await messageText(alicePage, "Hey Alice! Good to see you here").waitFor();
    // Bob has the chat open and focused-ish; Alice's message gets marked read.
    await alicePage.getByTestId("read-receipt").first().waitFor({ timeout: 15_000 }).catch(() => undefined);

    for (let i = 1; i <= 6; i++) await sendMessage(alicePage, `Message number ${i} from Alice`);
    await messageText(bobPage, "Message number 6 from Alice").waitFor();
  });

  it("edits, deletes and replies, and the other side sees each change live", async () => {
    const alicePage = pageOf(alice);
    const bobPage = pageOf(bob);
    const messageWith = (page: Page, text: string) =>
      page.getByTestId("message").filter({ has: messageText(page, text) });

    await messageWith(alicePage, "Message number 6 from Alice").getByTestId("message-actions").click();
    await alicePage.getByTestId("action-edit").last().click();
    await fill(alicePage, "composer-input", "Message number 6, edited");
    await alicePage.locator('[data-testid="composer-input"] textarea').press("Enter");
    await messageWith(bobPage, "Message number 6, edited").getByTestId("message-edited").waitFor();

    await messageWith(alicePage, "Message number 5 from Alice").getByTestId("message-actions").click();
    await alicePage.getByTestId("action-delete").last().click();
    await alicePage.locator(".n-dialog__action button").filter({ hasText: "Delete" }).click();
    await messageText(bobPage, "Message number 5 from Alice").waitFor({ state: "detached" });
    await bobPage.getByTestId("message-deleted").first().waitFor();

    await messageWith(bobPage, "Message number 4 from Alice").getByTestId("message-actions").click();
    await bobPage.getByTestId("action-reply").last().click();
    await sendMessage(bobPage, "Replying to number 4");
    await messageWith(alicePage, "Replying to number 4").getByTestId("message-reply-quote").waitFor();
  });

  it("delivers to every open tab of the same person", async () => {
    const aliceContext = people.get(alice)?.context;
    if (!aliceContext) throw new Error("no context for Alice");
    const secondTab = await aliceContext.newPage();
    await secondTab.goto(`/chats/${directConversationId}`);
    await messageText(secondTab, "Hi Bob, it's Alice").waitFor();
    await pageOf(alice).goto(`/chats/${directConversationId}`);
    await messageText(pageOf(alice), "Hi Bob, it's Alice").waitFor();

    await sendMessage(pageOf(bob), "This one reaches both of your tabs");
    await messageText(pageOf(alice), "This one reaches both of your tabs").waitFor();
    await messageText(secondTab, "This one reaches both of your tabs").waitFor();
    await secondTab.close();
    await screenshot(pageOf(alice), "chat");
  });

  it("creates a group that a third person joins by invite code and chats in", async () => {
    const alicePage = pageOf(alice);
    const carolPage = pageOf(carol);
    await alicePage.goto("/chats");
    await alicePage.getByTestId("new-conversation").click();
    await alicePage.getByTestId("new-group").click();
    await fill(alicePage, "group-title", "Weekend plans");
    await alicePage.getByTestId("friend-picker").click();
    await alicePage.locator(".n-base-select-option").filter({ hasText: bob.username }).click();
    await alicePage.keyboard.press("Escape");
    await alicePage.getByTestId("group-create").click();
    await alicePage.getByTestId("chat-title").filter({ hasText: "Weekend plans" }).waitFor();
    const groupId = conversationIdFromUrl(alicePage);

    await alicePage.getByTestId("group-settings").click();
    await alicePage.getByTestId("create-invite").click();
    const codeInput = alicePage.locator('[data-testid="invite-code"] input');
    await codeInput.waitFor();
    const code = await codeInput.inputValue();
    expect(code.length).toBeGreaterThan(0);
    await alicePage.keyboard.press("Escape");

    await carolPage.goto("/chats");
    await carolPage.getByTestId("new-conversation").click();
    await carolPage.getByTestId("join-group").click();
    await fill(carolPage, "join-code", code);
    await carolPage.getByTestId("join-submit").click();
    await carolPage.waitForURL(new RegExp(`/chats/${groupId}`));
    await carolPage.getByTestId("chat-title").filter({ hasText: "Weekend plans" }).waitFor();

    await sendMessage(alicePage, "Welcome to the group, Carol");
    await messageText(carolPage, "Welcome to the group, Carol").waitFor();
    await sendMessage(carolPage, "Thanks! Happy to be here");
    await messageText(alicePage, "Thanks! Happy to be here").waitFor();
    const bobPage = pageOf(bob);
    await bobPage.goto(`/chats/${groupId}`);
    await messageText(bobPage, "Thanks! Happy to be here").waitFor();
    // Carol is not Bob's friend: her presence reaches him only because he is viewing the group.
    await bobPage.getByTestId("chat-subtitle").filter({ hasText: "3 members, 3 online" }).waitFor();
    await bobPage.getByTestId("group-settings").click();
    await expect.poll(() => bobPage.getByTestId("member-status").filter({ hasText: /^online$/ }).count()).toBe(3);
    await bobPage.keyboard.press("Escape");
    await screenshot(bobPage, "group-chat");
    await alicePage.goto("/chats");
    await alicePage.getByTestId("conversation-row").first().waitFor();
    await screenshot(alicePage, "conversation-list");
  });

  it("restores the conversation with its history when a closed tab is reopened", async () => {
    const person = people.get(bob);
    if (!person) throw new Error("no context for Bob");
    await person.page.close();
    const reopened = await person.context.newPage();
    people.set(bob, { context: person.context, page: reopened });
    await reopened.goto(`/chats/${directConversationId}`);
    await messageText(reopened, "Hi Bob, it's Alice").waitFor();
    await messageText(reopened, "This one reaches both of your tabs").waitFor();
  });

  it("lists notifications with an unread count", async () => {
    const bobPage = pageOf(bob);
    await bobPage.goto("/chats");
    await bobPage.getByTestId("nav-notifications").click();
    await bobPage.getByTestId("notifications-panel").waitFor();
    await bobPage.getByTestId("notification-item").first().waitFor();
    await screenshot(bobPage, "notifications");
    await bobPage.keyboard.press("Escape");
  });

  it("looks right in dark mode and at phone width", async () => {
    const alicePage = pageOf(alice);
    await alicePage.emulateMedia({ colorScheme: "dark" });
    await alicePage.goto(`/chats/${directConversationId}`);
    await messageText(alicePage, "Hi Bob, it's Alice").waitFor();
    await screenshot(alicePage, "dark-mode-chat");
    await alicePage.emulateMedia({ colorScheme: "light" });

    await alicePage.setViewportSize({ width: 390, height: 844 });
    await alicePage.goto("/chats");
    await alicePage.getByTestId("conversation-row").first().waitFor();
    await screenshot(alicePage, "phone-conversation-list");
    await alicePage.locator(`[data-testid="conversation-row"][data-conversation-id="${directConversationId}"]`).click();
    await messageText(alicePage, "Hi Bob, it's Alice").waitFor();
    await alicePage.getByTestId("chat-back").waitFor();
    await screenshot(alicePage, "phone-chat");
    await alicePage.getByTestId("chat-back").click();
    await alicePage.getByTestId("conversation-list").waitFor();
    await alicePage.setViewportSize({ width: 1280, height: 800 });
  });
});
