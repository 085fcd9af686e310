import { Code, ConnectError } from "@connectrpc/connect";
import { waitFor } from "@parley/platform/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { linkFromDevMailbox, PASSWORD, startStack, tokenOf, type Stack } from "./harness.js";
import { startSmtpSink, verificationLinkIn, type SmtpSink } from "@parley/platform/testing-smtp";

async function codeOf(call: Promise<unknown>): Promise<string> {
  return call.then(
    () => "ok",
    (e: unknown) => Code[ConnectError.from(e).code],
  );
}

describe("verification mail over SMTP", () => {
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

  it("mails a link that verifies the address, after which login works", async () => {
    const email = "smtp-user@example.com";
    await stack.anon.auth.register({ email, username: "smtpuser", password: PASSWORD });
    await waitFor(() => sink.received.some((m) => m.to.includes(email)), { timeoutMs: 10_000 });
    const mail = sink.received.find((m) => m.to.includes(email))!;
    expect(mail.raw).toMatch(/^Subject: Confirm your Parley email address/m);
    const link = verificationLinkIn(mail.raw);
    expect(link).toBeDefined();
    expect(link!.startsWith(`${stack.tp.deps.config.publicUrl}/verify?token=`)).toBe(true);

    const { user } = await stack.anon.auth.verifyEmail({ token: tokenOf(link!) });
    expect(user?.emailVerified).toBe(true);
    const login = await stack.anon.auth.login({ login: email, password: PASSWORD });
    expect(login.accessToken).not.toBe("");
  });

  it("retries a send the SMTP server refused, and delivers it once", async () => {
    const email = "retry-user@example.com";
    sink.refuseNext(2);
    await stack.anon.auth.register({ email, username: "retryuser", password: PASSWORD });
    await waitFor(() => sink.received.some((m) => m.to.includes(email)), { timeoutMs: 15_000 });
    expect(sink.refusedCount()).toBe(2);
    // Give a stray duplicate the time to show up before counting.
    await new Promise((r) => setTimeout(r, 300));
    expect(sink.received.filter((m) => m.to.includes(email))).toHaveLength(1);
  });

  it("does not serve the dev mailbox when SMTP is configured", async () => {
    expect(await codeOf(stack.anon.devMailbox.listDevMail({ to: "smtp-user@example.com" }))).toBe("Unimplemented");
  });
});

describe("dev mailbox (no SMTP)", () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack();
  }, 60_000);

  afterAll(async () => {
    await stack?.close();
  });

  it("keeps the mail, its link verifies the address, and a resend adds a fresh link", async () => {
    const email = "Dev.User@Example.com";
    await stack.anon.auth.register({ email, username: "devuser", password: PASSWORD });
    const first = await linkFromDevMailbox(stack, email);
    expect(first.startsWith(`${stack.tp.deps.config.publicUrl}/verify?token=`)).toBe(true);
    const { mails } = await stack.anon.devMailbox.listDevMail({ to: "dev.user@example.com" });
    expect(mails).toHaveLength(1);
    expect(mails[0]!.text).toContain(first);

    await stack.anon.auth.resendVerification({ email });
    await waitFor(async () => (await stack.anon.devMailbox.listDevMail({ to: email })).mails.length === 2);
    const newest = (await stack.anon.devMailbox.listDevMail({ to: email })).mails[0]!.link;
    expect(newest).not.toBe(first);

    await stack.anon.auth.verifyEmail({ token: tokenOf(newest) });
    const login = await stack.anon.auth.login({ login: "devuser", password: PASSWORD });
    expect(login.user?.emailVerified).toBe(true);
  });

  it("answers an empty recipient with invalid_argument and an unknown one with nothing", async () => {
    expect(await codeOf(stack.anon.devMailbox.listDevMail({ to: " " }))).toBe("InvalidArgument");
    expect((await stack.anon.devMailbox.listDevMail({ to: "nobody@example.com" })).mails).toEqual([]);
  });
});
