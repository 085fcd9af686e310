/**
 * The one place connection strings lose their secrets before they reach a log
 * line, an error message or a probe body. DATABASE_URL, REDIS_URL, NATS_URL
 * and SMTP_URL may all carry a password (or a token in the user part), and
 * drivers like to repeat the URL they were given in their error messages.
 */

const MASK = "***";
/** Query parameters some drivers accept credentials in (`?password=`, `?token=`). */
const SECRET_PARAMS = /^(pass(word)?|token|secret|auth|access_token|api_key|apikey|sslpassword|nkey|seed)$/i;

/** A URL with its password, token-as-user and secret query parameters replaced by `***`. */
export function redactUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    // Not a URL we can take apart: mask anything that looks like credentials inside it.
    return redactText(raw);
  }
  if (u.password) u.password = MASK;
  // A user part without a password is a token (nats://<token>@host).
  else if (u.username) u.username = MASK;
  for (const key of [...u.searchParams.keys()]) if (SECRET_PARAMS.test(key)) u.searchParams.set(key, MASK);
  return u.toString();
}

/**
 * `scheme://user:secret@host` and `scheme://token@host` anywhere in free text
 * (error messages, readiness failures) become `scheme://user:***@host` and
 * `scheme://***@host`; `password=...` style pairs are masked too.
 */
export function redactText(text: string): string {
  return text
    .replace(/\b([a-z][a-z0-9+.-]*:\/\/)([^\s/@:]*):([^\s/@]*)@/gi, `$1$2:${MASK}@`)
    .replace(/\b([a-z][a-z0-9+.-]*:\/\/)([^\s/@:]+)@/gi, `$1${MASK}@`)
    .replace(/\b(pass(?:word)?|token|secret)=([^\s&;,]+)/gi, `$1=${MASK}`);
}

/**
 * Masks every configured secret value verbatim too: a driver may print the
 * password alone (not as part of a URL), e.g. in an authentication error.
 */
export function secretsOfUrls(urls: readonly (string | undefined)[]): string[] {
  const out: string[] = [];
  for (const raw of urls) {
    if (!raw) continue;
    try {
      const u = new URL(raw);
      for (const part of [u.password, u.password ? "" : u.username]) {
        const decoded = safeDecode(part);
        // Very short values would mask ordinary words; they are not secrets worth the name either.
        if (decoded.length >= 4) out.push(decoded);
      }
    } catch {
      // Invalid URLs never got this far: config validation refuses them.
    }
  }
  return out;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** redactText plus verbatim masking of the given secret values. */
export function redactWith(text: string, secrets: readonly string[]): string {
  let out = redactText(text);
  for (const s of secrets) if (s) out = out.split(s).join(MASK);
  return out;
}
