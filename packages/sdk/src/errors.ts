/**
 * Turning RPC errors into words for people. Parley servers write
 * invalid_argument (and similar) messages for clients, starting with the field
 * that was wrong ("email is not a valid address"); every other code gets a
 * fixed sentence, since its server message is not meant for end users.
 */
import { Code, ConnectError } from "@connectrpc/connect";

/** Codes whose server message describes the user's own input or state and can be shown as is. */
const SERVER_WORDS: ReadonlySet<Code> = new Set([
  Code.InvalidArgument,
  Code.AlreadyExists,
  Code.FailedPrecondition,
  Code.OutOfRange,
  Code.NotFound,
  Code.PermissionDenied,
]);

const FIXED_WORDS: Record<Code, string> = {
  [Code.Canceled]: "The request was canceled.",
  [Code.Unknown]: "Something went wrong. Please try again.",
  [Code.InvalidArgument]: "Some of the input is not valid.",
  [Code.DeadlineExceeded]: "The server took too long to answer. Please try again.",
  [Code.NotFound]: "That could not be found. It may have been removed.",
  [Code.AlreadyExists]: "That already exists.",
  [Code.PermissionDenied]: "You are not allowed to do that.",
  [Code.ResourceExhausted]: "Too many requests, try again shortly.",
  [Code.FailedPrecondition]: "That cannot be done right now.",
  [Code.Aborted]: "That clashed with another change. Please try again.",
  [Code.OutOfRange]: "That is out of range.",
  [Code.Unimplemented]: "The server does not support this yet. Is the app newer than the server?",
  [Code.Internal]: "Something went wrong on the server. Please try again.",
  [Code.Unavailable]: "The server cannot be reached right now. Check your connection and try again.",
  [Code.DataLoss]: "Some data was lost or damaged. Please try again.",
  [Code.Unauthenticated]: "Please log in again.",
};

/** One sentence for a person, for any error an SDK call can throw. */
export function describeError(err: unknown): string {
  const error = ConnectError.from(err);
  if (error.code === Code.ResourceExhausted) {
    const seconds = retryAfterSeconds(error);
    return seconds === undefined ? FIXED_WORDS[Code.ResourceExhausted] : `Too many requests, try again in ${seconds} s.`;
  }
  if (SERVER_WORDS.has(error.code) && error.rawMessage.trim() !== "") return sentence(error.rawMessage);
  return FIXED_WORDS[error.code];
}

/**
 * Seconds until a rate-limited call may be retried: the `retry-after`
 * metadata, or the number in the server's "retry in N s" message when a
 * browser's CORS policy hides that header.
 */
export function retryAfterSeconds(err: unknown): number | undefined {
  const error = ConnectError.from(err);
  if (error.code !== Code.ResourceExhausted) return undefined;
  const fromHeader = Number(error.metadata.get("retry-after") ?? Number.NaN);
  if (Number.isFinite(fromHeader) && fromHeader >= 0) return Math.ceil(fromHeader);
  const fromMessage = /retry in (\d+) ?s\b/i.exec(error.rawMessage);
  return fromMessage ? Number(fromMessage[1]) : undefined;
}

/** Input-error codes where the message starts with the name of the field at fault. */
const FIELD_CODES: ReadonlySet<Code> = new Set([Code.InvalidArgument, Code.AlreadyExists]);
const LEADING_FIELD = /^([a-z][a-z0-9]*(?:[_.][a-z0-9]+)*) \S/;

/**
 * Per-field form errors: `{ email: "Email is not a valid address." }`, keyed
 * by the proto field name (snake_case) the message starts with. Pass `fields`
 * to accept only those names (recommended: a message's first word is not
 * always a field). Empty when the error is not about a field.
 */
export function fieldErrors(err: unknown, fields?: readonly string[]): Record<string, string> {
  const error = ConnectError.from(err);
  if (!FIELD_CODES.has(error.code)) return {};
  const field = LEADING_FIELD.exec(error.rawMessage)?.[1];
  if (field === undefined || (fields !== undefined && !fields.includes(field))) return {};
  return { [field]: sentence(error.rawMessage) };
}

function sentence(message: string): string {
  const trimmed = message.trim();
  const capitalized = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capitalized) ? capitalized : `${capitalized}.`;
}
