/**
 * Embedded-mode stand-in for SMTP: keeps the last mails per recipient in
 * memory (served by DevMailboxService) and logs each link, so a developer can
 * verify an account without a mail server. Never used when SMTP_URL is set.
 */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { DevMailSchema, type DevMail } from "@parley/gen/parley/notification/v1/notification_pb";
import type { Logger } from "@parley/platform";
import type { Mailer, OutgoingMail } from "./mailer.js";

const KEPT_PER_RECIPIENT = 50;

export class DevMailbox implements Mailer {
  private readonly byRecipient = new Map<string, DevMail[]>();

  constructor(private readonly logger: Logger) {}

  async send(mail: OutgoingMail): Promise<void> {
    const to = normalizeAddress(mail.to);
    const kept = this.byRecipient.get(to) ?? [];
    kept.push(create(DevMailSchema, { to, subject: mail.subject, text: mail.text, link: mail.link, sentAt: timestampFromDate(new Date()) }));
    if (kept.length > KEPT_PER_RECIPIENT) kept.splice(0, kept.length - KEPT_PER_RECIPIENT);
    this.byRecipient.set(to, kept);
    this.logger.info({ to, subject: mail.subject, link: mail.link }, "dev mailbox: mail kept instead of sent");
  }

  /** Newest first. */
  list(to: string): DevMail[] {
    return [...(this.byRecipient.get(normalizeAddress(to)) ?? [])].reverse();
  }

  close(): void {}
}

export function normalizeAddress(address: string): string {
  return address.trim().toLowerCase();
}
