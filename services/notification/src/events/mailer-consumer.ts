/**
 * Durable `notification-mailer`: sends the verification mail for
 * user.registered and user.verification_requested. The send happens inside
 * handleOnce, so the event is recorded as handled only after the mail was
 * accepted; a failed send throws and the bus redelivers with backoff. A crash
 * between send and commit sends the mail twice, which beats losing it.
 */
import { decodeEvent, handleOnce, type BusMessage, type PlatformDeps, type Subscription } from "@parley/platform";
import { UserRegisteredEventSchema } from "@parley/gen/parley/identity/v1/events_pb";
import type { Logger } from "@parley/platform";
import type { Mailer } from "../mail/mailer.js";
import { verificationMail } from "../mail/verification-mail.js";
import { inbox } from "../store/schema.js";
import { IDENTITY } from "./subjects.js";

export const MAILER_CONSUMER = "notification-mailer";

export async function startMailerConsumer(deps: PlatformDeps, mailer: Mailer, logger: Logger): Promise<Subscription> {
  const log = logger.child({ consumer: MAILER_CONSUMER });

  async function handle(msg: BusMessage): Promise<void> {
    const e = decodeEvent(UserRegisteredEventSchema, msg);
    if (e.email === "" || e.verificationToken === "") {
      // Redelivering cannot fix a malformed event; drop it loudly.
      log.error({ eventId: msg.id, subject: msg.subject }, "verification event without email or token");
      return;
    }
    const mail = verificationMail({
      publicUrl: deps.config.publicUrl,
      to: e.email,
      displayName: e.user?.displayName ?? "",
      token: e.verificationToken,
    });
    await handleOnce(deps.database.db, inbox, MAILER_CONSUMER, msg.id, async () => {
      await mailer.send(mail);
    });
  }

  return deps.bus.consume({
    durable: MAILER_CONSUMER,
    subjects: [IDENTITY.userRegistered, IDENTITY.verificationRequested],
    handler: handle,
  });
}
