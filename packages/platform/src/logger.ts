import { pino, type DestinationStream, type Logger } from "pino";
import { serializeError } from "./log-errors.js";
import { redactText } from "./redact.js";

/** Every string of a serialized error, nested causes included, with connection-string credentials masked. */
function redactStrings(value: unknown): unknown {
  if (typeof value === "string") return redactText(value);
  if (Array.isArray(value)) return value.map(redactStrings);
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactStrings(v)]));
  return value;
}

/** Drivers repeat the URL they were given (with its password) in their errors; queries their values (log-errors.ts). */
function loggedError(value: unknown): unknown {
  return redactStrings(serializeError(value));
}

/**
 * JSON logs to stdout (or `destination`, for tests that read them); one child
 * per service (`svc`) and per request (`req_id`). Errors under `err`, `cause`
 * or `error` are logged without query values or credentials.
 */
export function createLogger(level: string, base: Record<string, unknown> = {}, destination?: DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { ...base },
    timestamp: pino.stdTimeFunctions.isoTime,
    serializers: { err: loggedError, cause: loggedError, error: loggedError },
  };
  return destination ? pino(options, destination) : pino(options);
}

export type { Logger };
