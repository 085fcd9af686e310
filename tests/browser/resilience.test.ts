/**
 * When the network goes away: the connection banner, messages the other side sent meanwhile,
 * and optimistic sending (shown at once as "sending…", sent when back, retried with the same
 * client_message_id, "failed — retry" when it cannot be sent, never shown twice).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import type { EmbeddedParley } from "@parley/embedded";
import { ListDirection } from "@parley/gen/parley/chat/v1/message_pb";
import { fill, launchChromium, makeUser, messageText, screenshot, sendMessage } from "./harness.js";
import { befriend, createApiUser, loggedInPage, realtimeSwitch, startParley, type ApiUser } from "./support.js";

const runId = Date.now().toString(36).slice(-5);
let parley: EmbeddedParley;
let browser: Browser;
let dana: ApiUser;
let eli: ApiUser;
let page: Page;
let network: Awaited<ReturnType<typeof realtimeSwitch>>;
let conversationId = "";

const sendPath = "**/parley.chat.v1.MessageService/SendMessage";

async function typeAndSend(text: string): Promise<void> {
  await fill(page, "composer-input", text);
  await page.locator('[data-testid="composer-input"] textarea').press("Enter");
}

/** What the server holds: each text at most once, whatever the client retried. */
async function serverTexts(): Promise<string[]> {
  const res = await eli.client.messages.listMessages({ conversationId, cursorSeq: 0n, direction: ListDirection.BACKWARD, limit: 200 });
  return res.messages.map((m) => m.text);
}

beforeAll(async () => {
  parley = await startParley();
  browser = await launchChromium();
  [dana, eli] = await Promise.all([
    createApiUser(parley.apiUrl, makeUser("Dana", runId)),
    createApiUser(parley.apiUrl, makeUser("Eli", runId)),
  ]);
  conversationId = await befriend(dana, eli);
  await eli.client.messages.sendMessage({ conversationId, clientMessageId: "hello", text: "Hi Dana, are you around?" });
  const person = await loggedInPage(browser, parley, dana.user);
  page = person.page;
  network = await realtimeSwitch(page, parley.wsUrl);
  await page.goto(`/chats/${conversationId}`);
  await messageText(page, "Hi Dana, are you around?").waitFor();
});

afterAll(async () => {
  await browser?.close();
  await parley?.close();
});

describe("losing the connection", () => {
  it("shows the banner while offline, then 'connected again' with what was sent meanwhile", async () => {
    await network.cut();
    const lost = page.getByTestId("connection-lost");
    await lost.waitFor();
    expect(await lost.textContent()).toMatch(/connection lost/i);
    await screenshot(page, "connection-lost");

    await eli.client.messages.sendMessage({ conversationId, clientMessageId: "while-away", text: "Sent while you were offline" });
    await network.restore();
    const back = page.getByTestId("connection-back");
    await back.waitFor({ timeout: 30_000 });
    expect(await back.textContent()).toMatch(/connected again/i);
    await lost.waitFor({ state: "detached" });
    await messageText(page, "Sent while you were offline").waitFor();
  });

  it("shows a message typed offline as sending at once and delivers it once back", async () => {
    await network.cut();
    await page.getByTestId("connection-lost").waitFor();
    await typeAndSend("Typed on the train");
    await typeAndSend("And a second one");
    const pending = page.getByTestId("pending-message");
    await pending.filter({ hasText: "Typed on the train" }).getByTestId("message-sending").waitFor();
    expect(await pending.count()).toBe(2);
    await screenshot(page, "sending-offline");

    await network.restore();
    await page.locator('[data-testid="message"]').filter({ has: messageText(page, "And a second one") }).waitFor({ timeout: 30_000 });
    await pending.first().waitFor({ state: "detached" });
    expect(await messageText(page, "Typed on the train").count()).toBe(1);
    const texts = await serverTexts();
    expect(texts.filter((t) => t === "Typed on the train")).toHaveLength(1);
    // Typing order is kept: the first one typed got the lower seq.
    expect(texts.indexOf("Typed on the train")).toBeGreaterThan(texts.indexOf("And a second one"));
    await messageText(page, "And a second one").waitFor();
  });

  it("retries with the same client_message_id, then offers 'retry' once it gives up", async () => {
    const seen: string[] = [];
    await page.route(sendPath, async (route) => {
      seen.push(JSON.parse(route.request().postData() ?? "{}").clientMessageId as string);
      await route.fulfill({ status: 503, contentType: "application/json", body: JSON.stringify({ code: "unavailable", message: "down" }) });
    });
    await typeAndSend("This one has a rough time");
    const failed = page.getByTestId("pending-message").filter({ hasText: "This one has a rough time" });
    await failed.getByTestId("message-failed").waitFor({ timeout: 20_000 });
    expect(await page.getByTestId("send-failed").getAttribute("title")).toMatch(/cannot be reached/i);
    expect(seen.length).toBe(4);
    expect(new Set(seen).size).toBe(1);
    await screenshot(page, "send-failed");

    await page.unroute(sendPath);
    await page.getByTestId("send-retry").click();
    await page.locator('[data-testid="message"]').filter({ has: messageText(page, "This one has a rough time") }).waitFor();
    await failed.waitFor({ state: "detached" });
    expect((await serverTexts()).filter((t) => t === "This one has a rough time")).toHaveLength(1);
  });

  it("shows a message once when the realtime frame beats the send response", async () => {
    // Hold the response back so the edge delivers the message to this tab first.
    await page.route(sendPath, async (route) => {
      const response = await route.fetch();
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      await route.fulfill({ response });
    });
    await typeAndSend("Racing the socket");
    await page.locator('[data-testid="message"]').filter({ has: messageText(page, "Racing the socket") }).waitFor();
    expect(await page.getByTestId("pending-message").count()).toBe(0);
    await page.waitForTimeout(1_200);
    expect(await messageText(page, "Racing the socket").count()).toBe(1);
    await page.unroute(sendPath);
    await sendMessage(page, "Back to normal");
  });
});
