/**
 * Big accounts: 10,000 conversations in a virtualized list, 300 messages of history loaded page
 * by page while scrolling up, and search that opens a conversation at the message it found.
 * Everything is seeded through the product's API, as the people in it would have.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import type { EmbeddedParley } from "@parley/embedded";
import { launchChromium, makeUser, messageText, screenshot } from "./harness.js";
import { befriend, createApiUser, loggedInPage, startParley, type ApiUser } from "./support.js";

const runId = Date.now().toString(36).slice(-5);
const groupCount = 10_000;
const historyLength = 300;
const needle = 42;

let parley: EmbeddedParley;
let browser: Browser;
let fay: ApiUser;
let gus: ApiUser;
let page: Page;
let historyId = "";

const historyText = (n: number): string =>
  `History ${String(n).padStart(3, "0")} of ${historyLength}${n === needle ? " — bring the pineapple salsa" : ""}`;

beforeAll(async () => {
  parley = await startParley({ RATE_LIMIT_SCALE: "1000" });
  browser = await launchChromium();
  [fay, gus] = await Promise.all([
    createApiUser(parley.apiUrl, makeUser("Fay", runId)),
    createApiUser(parley.apiUrl, makeUser("Gus", runId)),
  ]);
  await seedGroups(fay.id);
  historyId = await befriend(fay, gus);
  for (let n = 1; n <= historyLength; n++) {
    const sender = n % 3 === 0 ? fay : gus;
    await sender.client.messages.sendMessage({ conversationId: historyId, clientMessageId: `h-${n}`, text: historyText(n) });
  }
  page = (await loggedInPage(browser, parley, fay.user)).page;
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await parley?.close();
});

/**
 * 10,000 CreateGroup calls take well over a minute on the embedded backends, so the groups go
 * straight into chat's tables, shaped as CreateGroup leaves them (Fay the only member, admin).
 * "Oldest group of all" has the oldest activity, so it must end up as the list's last row.
 */
async function seedGroups(ownerId: string): Promise<void> {
  await parley.deps.database.db.execute(`
    with created as (
      insert into chat.conversations (id, kind, title, created_by, created_at, last_activity_at, member_count)
      select gen_random_uuid(), 'group',
             case when i = 0 then 'Oldest group of all' else 'Group ' || lpad(i::text, 5, '0') end,
             '${ownerId}', at, at, 1
      from generate_series(0, ${groupCount - 1}) as i,
           lateral (select now() - interval '2 days' + i * interval '1 second' as at) as t
      returning id, created_at
    )
    insert into chat.members (conversation_id, user_id, role, joined_at, read_seq)
    select id, '${ownerId}', 'admin', created_at, 0 from created`);
}

/** data-seq of every message bubble in the DOM, top to bottom. */
async function seqsInDom(target: Page): Promise<number[]> {
  return target.$$eval('[data-testid="message"]', (nodes) => nodes.map((n) => Number(n.getAttribute("data-seq"))));
}

describe("a big account", () => {
  it("scrolls 10,000 conversations with only a window of rows in the DOM", async () => {
    const list = page.locator('[role="list"][aria-label="Conversations"]');
    await list.waitFor();
    const last = page.getByTestId("conversation-row").filter({ hasText: "Oldest group of all" });
    for (let step = 0; step < 1_000 && !(await last.isVisible()); step++) {
      await list.evaluate((el) => el.scrollTo({ top: el.scrollHeight }));
      await page.waitForTimeout(25);
      expect(await page.getByTestId("conversation-row").count()).toBeLessThan(60);
    }
    await last.waitFor();
    const total = await list.evaluate((el) => el.scrollHeight / 72);
    expect(total).toBeGreaterThanOrEqual(groupCount);
    expect(await page.getByTestId("conversation-row").count()).toBeLessThan(60);
    await screenshot(page, "conversation-list-10k-bottom");
  });

  it("loads 300 messages of history page by page, in order, without duplicates", async () => {
    await page.goto(`/chats/${historyId}`);
    await messageText(page, historyText(historyLength)).waitFor();
    const scroller = page.getByTestId("message-list");
    const start = page.getByTestId("history-start");
    for (let step = 0; step < 100 && !(await start.isVisible()); step++) {
      await scroller.evaluate((el) => el.scrollTo({ top: 0 }));
      await page.waitForTimeout(50);
    }
    await messageText(page, historyText(1)).waitFor();
    const seqs = await seqsInDom(page);
    expect(seqs).toEqual(Array.from({ length: historyLength }, (_, i) => i + 1));
    const texts = await page.getByTestId("message-text").allTextContents();
    expect(texts).toEqual(Array.from({ length: historyLength }, (_, i) => historyText(i + 1)));
  });

  it("searches messages and conversations, and opens a hit at its place in the history", async () => {
    await page.goto("/chats");
    const search = page.locator('[data-testid="conversation-search"] input');
    await search.fill("pineapple");
    const hit = page.getByTestId("search-message-hit").first();
    await hit.waitFor();
    expect(await hit.getByTestId("search-highlight").first().textContent()).toMatch(/pineapple/i);
    await screenshot(page, "search-results");

    await hit.click();
    await page.waitForURL(new RegExp(`/chats/${historyId}`));
    const target = page.locator(`[data-testid="message"][data-seq="${needle}"]`);
    await target.waitFor();
    expect(await target.isVisible()).toBe(true);
    // A window around the hit, not the whole history: the newest message is not loaded yet.
    expect(await messageText(page, historyText(historyLength)).count()).toBe(0);
    await page.getByTestId("jump-to-latest").waitFor();
    await screenshot(page, "search-opened-hit");
    const seqs = await seqsInDom(page);
    expect(seqs).toEqual([...new Set(seqs)].sort((a, b) => a - b));

    await page.getByTestId("jump-to-latest").click();
    await messageText(page, historyText(historyLength)).waitFor();

    // Conversation titles are searched too.
    await search.fill("oldest");
    const conversationHit = page.getByTestId("search-conversation-hit").filter({ hasText: "Oldest group of all" });
    await conversationHit.waitFor();
    await conversationHit.click();
    await page.getByTestId("chat-title").filter({ hasText: "Oldest group of all" }).waitFor();
  });

  it("looks right searched in dark mode and at phone width", async () => {
    await page.emulateMedia({ colorScheme: "dark" });
    await page.goto("/chats");
    const search = page.locator('[data-testid="conversation-search"] input');
    await search.fill("pineapple");
    await page.getByTestId("search-message-hit").first().waitFor();
    await screenshot(page, "search-results-dark");
    await page.setViewportSize({ width: 390, height: 844 });
    await screenshot(page, "phone-search-results");
    await page.getByTestId("search-message-hit").first().click();
    await page.locator(`[data-testid="message"][data-seq="${needle}"]`).waitFor();
    await screenshot(page, "phone-search-opened-hit");
    await page.emulateMedia({ colorScheme: "light" });
    await page.setViewportSize({ width: 1280, height: 800 });
  });
});
