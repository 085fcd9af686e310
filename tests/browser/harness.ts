import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";

export const screenshotDir = fileURLToPath(new URL("../../test-artifacts/screenshots/", import.meta.url));

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-quic",
      "--no-first-run",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

export interface TestUser {
  email: string;
  username: string;
  displayName: string;
  password: string;
}

export function makeUser(name: string, runId: string): TestUser {
  const lower = name.toLowerCase();
  return {
    email: `${lower}.${runId}@example.test`,
    username: `${lower}_${runId}`,
    displayName: name,
    password: `${name}-pass-${runId}-42`,
  };
}

export async function newPerson(
  browser: Browser,
  baseURL: string,
  options: { colorScheme?: "light" | "dark"; viewport?: { width: number; height: number } } = {},
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({
    baseURL,
    viewport: options.viewport ?? { width: 1280, height: 800 },
    colorScheme: options.colorScheme ?? "light",
  });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  return { context, page };
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(screenshotDir, { recursive: true });
  // Let transitions (drawers, toasts) settle so the picture shows the resting state.
  await page.waitForTimeout(400);
  await page.screenshot({ path: `${screenshotDir}${name}.png` });
}

/** Fills a Naive UI input: the test id sits on the wrapper, the element is inside. */
export async function fill(page: Page, testId: string, value: string): Promise<void> {
  await page.locator(`[data-testid="${testId}"] input, [data-testid="${testId}"] textarea`).first().fill(value);
}

export async function registerAndVerify(page: Page, user: TestUser): Promise<void> {
  await page.goto("/register");
  await fill(page, "register-email", user.email);
  await fill(page, "register-username", user.username);
  await fill(page, "register-display-name", user.displayName);
  await fill(page, "register-password", user.password);
  await page.getByTestId("register-submit").click();
  await page.getByTestId("register-done").waitFor();
  // Embedded mode: the dev mailbox lists the mail; its link verifies the address.
  const link = page.getByTestId("dev-mail-link").first();
  await link.waitFor();
  await link.click();
  await page.getByTestId("verify-done").waitFor();
  await page.getByTestId("verify-continue").click();
  await page.waitForURL(/\/login/);
}

export async function logIn(page: Page, user: TestUser): Promise<void> {
  if (!page.url().includes("/login")) await page.goto("/login");
  await fill(page, "login-name", user.username);
  await fill(page, "login-password", user.password);
  await page.getByTestId("login-submit").click();
  await page.waitForURL(/\/chats/);
}

export async function sendMessage(page: Page, text: string): Promise<void> {
  await fill(page, "composer-input", text);
  await page.locator('[data-testid="composer-input"] textarea').press("Enter");
  await messageText(page, text).waitFor();
}

export function messageText(page: Page, text: string) {
  return page.getByTestId("message-text").filter({ hasText: text });
}

export function conversationIdFromUrl(page: Page): string {
  const match = /\/chats\/([^/?#]+)/.exec(page.url());
  if (!match?.[1]) throw new Error(`not in a conversation: ${page.url()}`);
  return match[1];
}
