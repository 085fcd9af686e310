/**
 * Rate limits in words: hammering the login form with a wrong password ends in the server's
 * resource_exhausted, which the page shows as "Too many requests, try again in N s."
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Browser } from "playwright-core";
import type { EmbeddedParley } from "@parley/embedded";
import { fill, launchChromium, newPerson, screenshot } from "./harness.js";
import { startParley } from "./support.js";

let parley: EmbeddedParley;
let browser: Browser;

beforeAll(async () => {
  // Login's "auth" policy is 20 a minute; a quarter of that keeps the hammering short.
  parley = await startParley({ RATE_LIMIT_SCALE: "0.25" });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await parley?.close();
});

it("says how long to wait after too many login attempts", async () => {
  const { page } = await newPerson(browser, parley.apiUrl);
  await page.goto("/login");
  await fill(page, "login-name", "nobody_here");
  await fill(page, "login-password", "definitely-wrong-password");
  const error = page.getByTestId("login-error");
  let wording = "";
  for (let attempt = 1; attempt <= 10 && !/too many/i.test(wording); attempt++) {
    const answered = page.waitForResponse((res) => res.url().endsWith("/Login"));
    await page.getByTestId("login-submit").click();
    await answered;
    await error.waitFor();
    wording = (await error.textContent()) ?? "";
  }
  expect(wording).toMatch(/^\s*Too many requests, try again in \d+ s\.\s*$/);
  // The labels are wired to their inputs, so people using a screen reader hear what to type.
  await page.getByLabel("Email or username").waitFor();
  await page.getByLabel("Password", { exact: true }).waitFor();
  await screenshot(page, "login-rate-limited");
});
