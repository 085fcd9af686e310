/**
 * How errors appear in logs. Database errors carry what the query was called
 * with: drizzle's DrizzleQueryError has `params` and repeats them in its
 * message ("Failed query: … params: ada@example.com,…"), and Postgres puts
 * offending values into `detail` ("Key (email)=(…) already exists") and into
 * messages ('invalid input syntax for type uuid: "…"'). Those values are
 * message text, emails, tokens. Logs keep the error's type, the SQL text (it
 * has only placeholders), the SQLSTATE and the names of the constraint, table
 * and column — enough to debug — and never a value.
 */

/** Structured fields of Postgres errors (pg and PGlite) that name things but hold no data. */
const SAFE_DB_FIELDS = ["code", "severity", "constraint", "table", "column", "schema", "routine", "dataType"] as const;
/** Stop at this depth: causes can be cyclic or absurdly deep. */
const MAX_CAUSE_DEPTH = 5;

export interface LoggedError {
  type: string;
  message: string;
  stack?: string;
  query?: string;
  cause?: LoggedError;
  [field: string]: unknown;
}

/** drizzle's "Failed query: <sql>\nparams: <values>" → the SQL only. */
function withoutParams(message: string): string {
  const at = message.search(/\nparams: /);
  return at === -1 ? message : message.slice(0, at);
}

/** Postgres quotes the offending value in its messages; identifiers are in the structured fields. */
function withoutQuotedValues(message: string): string {
  return message.replace(/"(?:[^"\\]|\\.)*"/g, '"…"');
}

const EMAIL = /[^\s@<>"'(),;:]+@[^\s@<>"'(),;:]+\.[A-Za-z]{2,}/g;

function isDatabaseError(err: Error & Record<string, unknown>): boolean {
  return typeof err["severity"] === "string" || typeof err["code"] === "string" && /^[0-9A-Z]{5}$/.test(err["code"]);
}

function serialize(value: unknown, depth: number): LoggedError {
  if (!(value instanceof Error)) {
    // Thrown non-errors are ours (strings, plain objects); log their kind, not their content.
    return { type: typeof value, message: typeof value === "string" ? withoutQuotedValues(value).replace(EMAIL, "[email]") : "non-error thrown" };
  }
  const err = value as Error & Record<string, unknown>;
  const type = err.constructor?.name ?? err.name;
  const database = isDatabaseError(err);
  let message = withoutParams(err.message).replace(EMAIL, "[email]");
  if (database || "params" in err) message = withoutQuotedValues(message);
  const out: LoggedError = { type, message };
  // The stack's first line repeats the raw message: keep only the frames.
  const frames = err.stack?.split("\n").filter((line) => line.startsWith("    at "));
  if (frames && frames.length > 0) out.stack = `${type}: ${message}\n${frames.join("\n")}`;
  if (typeof err["query"] === "string") out.query = err["query"];
  if (database) {
    for (const field of SAFE_DB_FIELDS) if (typeof err[field] === "string") out[field] = err[field];
  } else if (typeof err["code"] === "string" || typeof err["code"] === "number") {
    out["code"] = err["code"];
  }
  if (err.cause !== undefined && depth < MAX_CAUSE_DEPTH) out.cause = serialize(err.cause, depth + 1);
  return out;
}

/** pino serializer for every key that may hold an error (`err`, `cause`, `error`). */
export function serializeError(value: unknown): LoggedError {
  return serialize(value, 0);
}
