/** Where outgoing mail goes: a real SMTP server, or the in-memory dev mailbox. */
export interface OutgoingMail {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** The link the mail asks the reader to open, kept by the dev mailbox. */
  link: string;
}

export interface Mailer {
  /** Resolves once the mail is accepted; throws when it was not (the event is then redelivered). */
  send(mail: OutgoingMail): Promise<void>;
  close(): void;
}
