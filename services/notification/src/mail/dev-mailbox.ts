/**
 * Embedded-development stand-in for SMTP (DEV_MAILBOX=true, refused in
 * production): keeps recent mails in memory, served by the public
 * DevMailboxService so a developer can verify an account without a mail
 * server. Bounded per recipient and in total (oldest evicted), and it logs
 * neither recipients nor links: a link verifies whoever opens it.
 */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { DevMailSchema, type DevMail } from "@parley/gen/parley/notification/v1/notification_pb";
import type { Logger } from "@parley/platform";
import type { Mailer, OutgoingMail } from "./mailer.js";

export interface DevMailboxLimits {
  perRecipient: number;
  total: number;
}

export const DEFAULT_DEV_MAILBOX_LIMITS: DevMailboxLimits = { perRecipient: 20, total: 1000 };

export class DevMailbox implements Mailer {
  /** Oldest first, across recipients; at most `limits.total` entries, so scans stay cheap. */
  private readonly mails: DevMail[] = [];

  constructor(
    private readonly logger: Logger,
    private readonly limits: DevMailboxLimits = DEFAULT_DEV_MAILBOX_LIMITS,
  ) {}

  async send(mail: OutgoingMail): Promise<void> {
    const to = normalizeAddress(mail.to);
    this.mails.push(create(DevMailSchema, { to, subject: mail.subject, text: mail.text, link: mail.link, sentAt: timestampFromDate(new Date()) }));
    let kept = 0;
    for (let i = this.mails.length - 1; i >= 0; i--) {
      if (this.mails[i]?.to !== to) continue;
      if (++kept > this.limits.perRecipient) this.mails.splice(i, 1);
    }
    if (this.mails.length > this.limits.total) this.mails.splice(0, this.mails.length - this.limits.total);
    this.logger.debug({ subject: mail.subject }, "dev mailbox: mail kept instead of sent");
  }

  /** Newest first. */
  list(to: string): DevMail[] {
    const address = normalizeAddress(to);
    return this.mails.filter((m) => m.to === address).reverse();
  }

  /** How many mails are kept in all (for tests of the bound). */
  size(): number {
    return this.mails.length;
  }

  close(): void {}
}

export function normalizeAddress(address: string): string {
  return address.trim().toLowerCase();
}
