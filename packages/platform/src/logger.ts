import { pino, type DestinationStream, type Logger } from "pino";
import { serializeError } from "./log-errors.js";

/**
 * JSON logs to stdout (or `destination`); one child per service (`svc`) and
 * per request (`req_id`). Errors under `err`, `cause` or `error` are logged
 * without the values a failed query was called with (see log-errors.ts).
 */
export function createLogger(level: string, base: Record<string, unknown> = {}, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { ...base },
    timestamp: pino.stdTimeFunctions.isoTime,
    serializers: { err: serializeError, cause: serializeError, error: serializeError },
  };
  return destination ? pino(options, destination) : pino(options);
}

export type { Logger };
