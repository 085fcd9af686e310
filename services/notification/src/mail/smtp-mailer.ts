/** Mail over SMTP with nodemailer (`SMTP_URL`, e.g. smtp://user:pass@host:587). */
import nodemailer from "nodemailer";
import type { Logger } from "@parley/platform";
import type { Mailer, OutgoingMail } from "./mailer.js";

export function createSmtpMailer(smtpUrl: string, from: string, logger: Logger): Mailer {
  const transport = nodemailer.createTransport(smtpUrl);
  return {
    async send(mail: OutgoingMail): Promise<void> {
      const info = await transport.sendMail({ from, to: mail.to, subject: mail.subject, text: mail.text, html: mail.html });
      // Addresses are personal data: log the message id, not the recipient.
      logger.info({ messageId: info.messageId }, "mail sent");
    },
    close(): void {
      transport.close();
    },
  };
}
