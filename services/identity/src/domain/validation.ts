/**
 * Input rules for accounts. Every handler validates with these before it
 * writes anything, so bad input never reaches the database.
 */
import { Code, ConnectError } from "@connectrpc/connect";

const invalid = (message: string) => new ConnectError(message, Code.InvalidArgument);

export const EMAIL_MAX = 254;
export const USERNAME_PATTERN = /^[a-z][a-z0-9_.]{2,31}$/;
export const PASSWORD_MIN = 10;
export const PASSWORD_MAX = 128;
export const DISPLAY_NAME_MAX = 64;

// RFC 5322 allows far more, but real mailboxes look like this; the local part
// allows the common atext set, the domain needs at least one dot.
const EMAIL_PATTERN =
  /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

// Names that would let someone impersonate the service or collide with routes.
const RESERVED_USERNAMES = new Set([
  "admin", "administrator", "root", "system", "support", "help", "parley", "official",
  "moderator", "mod", "staff", "security", "abuse", "postmaster", "noreply", "no_reply",
  "api", "www", "mail", "null", "undefined", "me", "everyone", "here",
]);

// C0, DEL and C1 controls, plus line/paragraph separators and bidi overrides
// that make names render deceptively.
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Lowercased address, or invalid_argument. */
export function normalizeEmail(raw: string, field = "email"): string {
  const email = raw.trim().toLowerCase();
  if (email.length === 0) throw invalid(`${field} is required`);
  if (email.length > EMAIL_MAX) throw invalid(`${field} must be at most ${EMAIL_MAX} characters`);
  const local = email.split("@")[0] ?? "";
  if (local.length > 64 || !EMAIL_PATTERN.test(email)) throw invalid(`${field} is not a valid address`);
  return email;
}

/** Usernames are case-insensitive, so "Alice" is taken when "alice" exists. */
export function normalizeUsername(raw: string, field = "username"): string {
  const username = raw.trim().toLowerCase();
  if (username.length === 0) throw invalid(`${field} is required`);
  if (username.length < 3 || username.length > 32) throw invalid(`${field} must be 3-32 characters`);
  if (!USERNAME_PATTERN.test(username)) {
    throw invalid(`${field} may contain only letters, digits, '_' and '.', and must start with a letter`);
  }
  if (RESERVED_USERNAMES.has(username)) throw invalid(`${field} "${username}" is reserved`);
  return username;
}

export function normalizeDisplayName(raw: string): string {
  const name = raw.trim();
  if (name.length === 0) throw invalid("display_name must not be empty");
  if ([...name].length > DISPLAY_NAME_MAX) throw invalid(`display_name must be at most ${DISPLAY_NAME_MAX} characters`);
  if (CONTROL_CHARS.test(name)) throw invalid("display_name must not contain control characters");
  return name;
}

export function checkPasswordStrength(password: string, email: string, username: string): void {
  if (password.length < PASSWORD_MIN) throw invalid(`password must be at least ${PASSWORD_MIN} characters`);
  if (password.length > PASSWORD_MAX) throw invalid(`password must be at most ${PASSWORD_MAX} characters`);
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^a-zA-Z0-9]/].filter((re) => re.test(password)).length;
  if (classes < 2) throw invalid("password must mix at least two kinds of characters (lowercase, uppercase, digits, symbols)");
  const lowered = password.toLowerCase();
  if (lowered === email || lowered === username) throw invalid("password must not be your email or username");
}

/** Ids in requests: malformed ones are invalid_argument everywhere in identity. */
export function requireUuid(raw: string, field: string): string {
  if (!UUID_PATTERN.test(raw)) throw invalid(`${field} must be a UUID`);
  return raw.toLowerCase();
}
