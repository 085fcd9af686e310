/**
 * The mails sent to addresses nobody has proven to own yet. They carry no
 * text a caller chose (display name, username): Register is public, so any
 * such text would let anyone send their words, under our name, to any address.
 */
import type { OutgoingMail } from "./mailer.js";

export function verificationMail(opts: { publicUrl: string; to: string; token: string }): OutgoingMail {
  const link = `${opts.publicUrl}/verify?token=${encodeURIComponent(opts.token)}`;
  const text = [
    "Hi,",
    "",
    "please confirm your email address for Parley by opening this link:",
    link,
    "",
    "If you did not sign up, ignore this mail.",
  ].join("\n");
  const html = `<p>Hi,</p><p>please confirm your email address for Parley by opening this link:</p><p><a href="${escapeHtml(link)}">${escapeHtml(link)}</a></p><p>If you did not sign up, ignore this mail.</p>`;
  return { to: opts.to, subject: "Confirm your Parley email address", text, html, link };
}

/** To the owner of a verified account, when someone called Register with its address. */
export function registrationAttemptMail(opts: { publicUrl: string; to: string }): OutgoingMail {
  const link = `${opts.publicUrl}/login`;
  const text = [
    "Hi,",
    "",
    "someone tried to create a Parley account with this email address, which already has an account.",
    "If it was you, log in instead:",
    link,
    "",
    "If it was not you, ignore this mail; nothing was changed.",
  ].join("\n");
  const html = `<p>Hi,</p><p>someone tried to create a Parley account with this email address, which already has an account.</p><p>If it was you, log in instead: <a href="${escapeHtml(link)}">${escapeHtml(link)}</a></p><p>If it was not you, ignore this mail; nothing was changed.</p>`;
  return { to: opts.to, subject: "Someone tried to register with your Parley address", text, html, link };
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
