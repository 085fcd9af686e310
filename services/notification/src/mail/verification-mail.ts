/** The "verify your address" mail. */
import type { OutgoingMail } from "./mailer.js";

export function verificationMail(opts: { publicUrl: string; to: string; displayName: string; token: string }): OutgoingMail {
  const link = `${opts.publicUrl}/verify?token=${encodeURIComponent(opts.token)}`;
  const greeting = opts.displayName ? `Hi ${opts.displayName},` : "Hi,";
  const text = [greeting, "", "please confirm your email address for Parley by opening this link:", link, "", "If you did not sign up, ignore this mail."].join("\n");
  const html = `<p>${escapeHtml(greeting)}</p><p>please confirm your email address for Parley by opening this link:</p><p><a href="${escapeHtml(link)}">${escapeHtml(link)}</a></p><p>If you did not sign up, ignore this mail.</p>`;
  return { to: opts.to, subject: "Confirm your Parley email address", text, html, link };
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
