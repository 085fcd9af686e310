/**
 * Audit items 2, 7 and 18: the dev mailbox exists only on explicit opt-in,
 * no link or token is ever logged or carried readable in an event, and mail
 * to an unproven address carries no text the caller chose.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { ConfigError, type BusMessage, type Subscription } from "@parley/platform";
import { createCapturingLogger, createTestPlatform, waitFor } from "@parley/platform/testing";
import { startSmtpSink, verificationLinkIn, type SmtpSink } from "@parley/platform/testing-smtp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNotificationService } from "../src/index.js";
import { DevMailbox } from "../src/mail/dev-mailbox.js";
import { createAccount, linkFromDevMailbox, PASSWORD, startStack, tokenOf, type Stack } from "./harness.js";

async function codeOf(call: Promise<unknown>): Promise<string> {
  return call.then(
    () => "ok",
    (e: unknown) => Code[ConnectError.from(e).code],
  );
}

/** Every identity event this stack publishes, as the stream stores it. */
async function recordIdentityEvents(stack: Stack): Promise<{ events: BusMessage[]; subscription: Subscription }> {
  const events: BusMessage[] = [];
  const subscription = await stack.tp.deps.bus.consume({
    durable: "mail-security-recorder",
    subjects: ["parley.identity.>"],
    handler: async (msg) => {
      events.push(msg);
    },
  });
  return { events, subscription };
}

function expectNoTokenIn(events: BusMessage[], token: string): void {
  const needles = [Buffer.from(token, "utf8"), Buffer.from(token, "base64url")];
  for (const e of events) for (const needle of needles) expect(Buffer.from(e.data).includes(needle), `${e.subject} carries the token`).toBe(false);
}

describe("without DEV_MAILBOX=true there is no dev mailbox", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ devMailbox: false, emailVerification: false });
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
  });

  it("answers DevMailboxService with unimplemented over HTTP", async () => {
    await stack.anon.auth.register({ email: "no-mailbox@example.com", username: "nomailbox", password: PASSWORD });
    expect(await codeOf(stack.anon.devMailbox.listDevMail({ to: "no-mailbox@example.com" }))).toBe("Unimplemented");
  });

  it("with EMAIL_VERIFICATION=off accounts are verified on register, and /readyz says so", async () => {
    const { user } = await stack.anon.auth.register({ email: "verified-at-once@example.com", username: "atonce", password: PASSWORD });
    expect(user?.emailVerified).toBe(true);
    expect((await stack.anon.auth.login({ login: "atonce", password: PASSWORD })).accessToken).not.toBe("");
    const ready = (await (await fetch(`${stack.server.adminUrl}/readyz`)).json()) as { notices?: Record<string, string> };
    expect(ready.notices?.emailVerification).toMatch(/^off/);
  });
});

describe("notification refuses to start when verification mail has nowhere to go", () => {
  it("throws a ConfigError naming the settings", async () => {
    const tp = await createTestPlatform();
    try {
      tp.deps.config.devMailbox = false;
      const err = await createNotificationService(tp.deps).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toMatch(/SMTP_URL.*DEV_MAILBOX=true.*EMAIL_VERIFICATION=off/s);
    } finally {
      await tp.close();
    }
  });
});

describe("verification over SMTP", () => {
  let sink: SmtpSink;
  let stack: Stack;
  beforeAll(async () => {
    sink = await startSmtpSink();
    stack = await startStack({ smtpUrl: sink.url });
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
    await sink?.close();
  });

  it("the stream never holds the token; the mailed link still verifies", async () => {
    const { events, subscription } = await recordIdentityEvents(stack);
    const email = "sealed@example.com";
    await stack.anon.auth.register({ email, username: "sealed", password: PASSWORD });
    const token = await sink.verificationToken(email);
    await waitFor(() => events.some((e) => e.subject === "parley.identity.user.registered"));
    expectNoTokenIn(events, token);

    await stack.anon.auth.resendVerification({ email });
    await waitFor(() => sink.received.filter((m) => m.to.includes(email)).length === 2, { timeoutMs: 10_000 });
    const resent = await sink.verificationToken(email);
    await waitFor(() => events.some((e) => e.subject === "parley.identity.user.verification_requested"));
    expectNoTokenIn(events, resent);
    await subscription.stop();

    expect((await stack.anon.auth.verifyEmail({ token: resent })).user?.emailVerified).toBe(true);
    expect((await stack.anon.auth.login({ login: email, password: PASSWORD })).accessToken).not.toBe("");
  });

  it("does not echo the caller's display name into mail to an unverified address", async () => {
    const email = "victim@example.com";
    await stack.anon.auth.register({ email, username: "lure", password: PASSWORD, displayName: "Win a prize at evil.example now" });
    await waitFor(() => sink.received.some((m) => m.to.includes(email)), { timeoutMs: 10_000 });
    const mail = sink.received.find((m) => m.to.includes(email))!;
    expect(verificationLinkIn(mail.raw)).toBeDefined();
    expect(mail.raw).not.toMatch(/evil\.example|prize/);
  });

  it("tells the owner of a verified address that someone tried to register with it, without the caller's text", async () => {
    const email = "owner@example.com";
    await stack.anon.auth.register({ email, username: "owner", password: PASSWORD });
    await stack.anon.auth.verifyEmail({ token: await sink.verificationToken(email) });
    const mark = sink.received.length;

    const again = await stack.anon.auth.register({ email, username: "copycat", password: PASSWORD, displayName: "Call +1 555 evil" });
    expect(again.user?.emailVerified).toBe(false);
    await waitFor(() => sink.received.slice(mark).some((m) => m.to.includes(email)), { timeoutMs: 10_000 });
    const notice = sink.received.slice(mark).find((m) => m.to.includes(email))!;
    expect(notice.raw).toMatch(/^Subject: Someone tried to register with your Parley address/m);
    expect(notice.raw).not.toMatch(/copycat|evil|verify\?token/);
  });
});

describe("dev mailbox (DEV_MAILBOX=true)", () => {
  let stack: Stack;
  let lines: string[];
  beforeAll(async () => {
    const capture = createCapturingLogger();
    lines = capture.lines;
    stack = await startStack({ logger: capture.logger });
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
  });

  it("register → mail → verify works, and nothing logged holds the token, the link or the address", async () => {
    const { events, subscription } = await recordIdentityEvents(stack);
    const account = await createAccount(stack, "logcheck");
    const link = await linkFromDevMailbox(stack, account.email);
    const token = tokenOf(link);
    await waitFor(() => events.some((e) => e.subject === "parley.identity.user.registered"));
    await subscription.stop();
    expectNoTokenIn(events, token);

    const logs = lines.join("");
    expect(lines.length).toBeGreaterThan(0);
    expect(logs).not.toContain(token);
    expect(logs).not.toContain("verify?token");
    expect(logs).not.toContain(account.email);
  });
});

describe("the dev mailbox is bounded", () => {
  const mail = (to: string, n: number) => ({ to, subject: `s${n}`, text: `t${n}`, html: "", link: `http://x/verify?token=${n}` });

  it("keeps the newest mails per recipient and in total, evicting the oldest", async () => {
    const { logger } = createCapturingLogger();
    const box = new DevMailbox(logger, { perRecipient: 3, total: 5 });
    for (let n = 1; n <= 6; n++) await box.send(mail("a@example.com", n));
    expect(box.list("A@example.com").map((m) => m.subject)).toEqual(["s6", "s5", "s4"]);
    for (let n = 7; n <= 10; n++) await box.send(mail(`other${n}@example.com`, n));
    expect(box.size()).toBe(5);
    // a@'s oldest kept mails went first.
    expect(box.list("a@example.com").map((m) => m.subject)).toEqual(["s6"]);
  });

  it("has default bounds that stop the memory growing with the number of addresses", async () => {
    const { logger } = createCapturingLogger();
    const box = new DevMailbox(logger);
    for (let n = 0; n < 3000; n++) await box.send(mail(`user${n}@example.com`, n));
    expect(box.size()).toBeLessThanOrEqual(1000);
  });
});
