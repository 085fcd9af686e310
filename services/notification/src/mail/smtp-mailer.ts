/** Mail over SMTP with nodemailer (`SMTP_URL`, e.g. smtp://user:pass@host:587). */
import nodemailer from "nodemailer";
import type { Logger } from "@parley/platform";
import type { Mailer, OutgoingMail } from "./mailer.js";

export function createSmtpMailer(smtpUrl: string, from: string, logger: Logger): Mailer {
  const transport = nodemailer.createTransport(smtpUrl);
  return {
    async send(mail: OutgoingMail): Promise<void> {
      try {
        const info = await transport.sendMail({ from, to: mail.to, subject: mail.subject, text: mail.text, html: mail.html });
        // Addresses are personal data: log the message id, not the recipient.
        logger.info({ messageId: info.messageId }, "mail sent");
      } catch (err) {
        throw smtpFailure(err);
      }
    },
    close(): void {
      transport.close();
    },
  };
}

/**
 * The bus logs a failed handler's error. nodemailer's errors carry the
 * envelope (recipients) and the server's reply, which may quote the message;
 * keep only what says why it failed.
 */
function smtpFailure(err: unknown): Error {
  const e = (typeof err === "object" && err !== null ? err : {}) as { code?: unknown; responseCode?: unknown; command?: unknown };
  const parts = [e.code, e.responseCode, e.command].filter((p) => typeof p === "string" || typeof p === "number");
  return new Error(`SMTP send failed${parts.length > 0 ? ` (${parts.join(" ")})` : ""}`);
}
