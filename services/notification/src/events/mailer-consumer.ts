/**
 * Durable `notification-mailer`: the verification mail for user.registered and
 * user.verification_requested, and the "someone tried to register with your
 * address" mail for user.registration_attempted. The send happens inside
 * handleOnce, so the event is recorded as handled only after the mail was
 * accepted; a failed send throws and the bus redelivers with backoff. A crash
 * between send and commit sends the mail twice, which beats losing it.
 *
 * The verification token arrives sealed (VERIFICATION_TOKEN_KEY, bound to the
 * user id) and is opened only here, in memory; it is never logged.
 */
import { decodeEvent, handleOnce, openSecret, type BusMessage, type PlatformDeps, type Subscription } from "@parley/platform";
import { RegistrationAttemptedEventSchema, UserRegisteredEventSchema } from "@parley/gen/parley/identity/v1/events_pb";
import type { Logger } from "@parley/platform";
import type { Mailer, OutgoingMail } from "../mail/mailer.js";
import { registrationAttemptMail, verificationMail } from "../mail/verification-mail.js";
import { inbox } from "../store/schema.js";
import { IDENTITY } from "./subjects.js";

export const MAILER_CONSUMER = "notification-mailer";

export async function startMailerConsumer(deps: PlatformDeps, mailer: Mailer, key: Uint8Array | undefined, logger: Logger): Promise<Subscription> {
  const log = logger.child({ consumer: MAILER_CONSUMER });
  const publicUrl = deps.config.publicUrl;

  /** The mail an event asks for, or undefined when redelivering cannot fix the event (logged, dropped). */
  function mailFor(msg: BusMessage): OutgoingMail | undefined {
    if (msg.subject === IDENTITY.registrationAttempted) {
      const e = decodeEvent(RegistrationAttemptedEventSchema, msg);
      if (e.email === "") return malformed(msg, "registration attempt without email");
      return registrationAttemptMail({ publicUrl, to: e.email });
    }
    const e = decodeEvent(UserRegisteredEventSchema, msg);
    const userId = e.user?.id ?? "";
    if (e.email === "" || userId === "") return malformed(msg, "verification event without email or user");
    let token: string;
    if (e.sealedVerificationToken.length > 0) {
      if (!key) return malformed(msg, "verification token is sealed but VERIFICATION_TOKEN_KEY is not set");
      try {
        token = openSecret(key, e.sealedVerificationToken, userId);
      } catch (err) {
        // Sealed with another key (a rotation without a drain) or tampered: the user can ask for a new link.
        return malformed(msg, `verification token could not be opened: ${err instanceof Error ? err.message : String(err)}`);
      }
    } else {
      // Events written before tokens were sealed (still in the stream after an upgrade).
      token = e.verificationToken;
    }
    if (token === "") return malformed(msg, "verification event without token");
    return verificationMail({ publicUrl, to: e.email, token });
  }

  function malformed(msg: BusMessage, reason: string): undefined {
    log.error({ eventId: msg.id, subject: msg.subject }, reason);
    return undefined;
  }

  async function handle(msg: BusMessage): Promise<void> {
    const mail = mailFor(msg);
    if (!mail) return;
    await handleOnce(deps.database.db, inbox, MAILER_CONSUMER, msg.id, async () => {
      await mailer.send(mail);
    });
  }

  return deps.bus.consume({
    durable: MAILER_CONSUMER,
    subjects: [IDENTITY.userRegistered, IDENTITY.verificationRequested, IDENTITY.registrationAttempted],
    handler: handle,
  });
}
