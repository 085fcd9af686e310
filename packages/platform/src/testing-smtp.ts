/**
 * Test helper (`@parley/platform/testing-smtp`): a real SMTP server (the
 * `smtp-server` package) on a free port that keeps what it receives, so tests
 * read verification mail the way a person would. Can refuse the next sends to
 * exercise the mailer's retries.
 */
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";

export interface ReceivedMail {
  to: string[];
  /** The message as sent (headers + encoded body). */
  raw: string;
}

export interface SmtpSink {
  url: string;
  received: ReceivedMail[];
  /** Answers the next `n` messages with a temporary failure (451). */
  refuseNext(n: number): void;
  refusedCount(): number;
  /** The newest verification token mailed to `address`, waiting up to timeoutMs. */
  verificationToken(address: string, timeoutMs?: number): Promise<string>;
  close(): Promise<void>;
}

export async function startSmtpSink(): Promise<SmtpSink> {
  const received: ReceivedMail[] = [];
  let toRefuse = 0;
  let refused = 0;
  const server = new SMTPServer({
    authOptional: true,
    // Plain connection to localhost; nodemailer would otherwise try STARTTLS with a self-signed cert.
    disabledCommands: ["STARTTLS"],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => {
        if (toRefuse > 0) {
          toRefuse--;
          refused++;
          const err = Object.assign(new Error("try again later"), { responseCode: 451 });
          return callback(err);
        }
        received.push({ to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString("utf8") });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    received,
    refuseNext: (n) => void (toRefuse = n),
    refusedCount: () => refused,
    async verificationToken(address, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const mail = received.findLast((m) => m.to.some((to) => to.toLowerCase() === address.toLowerCase()));
        const link = mail && verificationLinkIn(mail.raw);
        if (link) return new URL(link).searchParams.get("token") ?? "";
        if (Date.now() > deadline) throw new Error(`no verification mail reached ${address} within ${timeoutMs} ms (${received.length} mails received)`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The verification link in a raw mail, undoing quoted-printable encoding (soft line breaks, =XX). */
export function verificationLinkIn(raw: string): string | undefined {
  const decoded = raw.replace(/=\r?\n/g, "").replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  return /https?:\/\/[^\s"<>]+\/verify\?token=[^\s"<>&]+/.exec(decoded)?.[0];
}
