import { pino, type Logger } from "pino";
import { redactText } from "./redact.js";

/** Serialized errors with connection-string credentials masked in every string field (message, stack with causes, driver extras). */
function redactedErr(value: unknown): unknown {
  if (!(value instanceof Error)) return typeof value === "string" ? redactText(value) : value;
  const serialized = pino.stdSerializers.err(value) as unknown as Record<string, unknown>;
  for (const [k, v] of Object.entries(serialized)) if (typeof v === "string") serialized[k] = redactText(v);
  return serialized;
}

/** JSON logs to stdout (or `destination`, for tests that read them); one child per service (`svc`) and per request (`req_id`). */
export function createLogger(level: string, base: Record<string, unknown> = {}, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { ...base },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Drivers repeat the URL they were given (with its password) in their errors.
    serializers: { err: redactedErr, cause: redactedErr },
  };
  return destination ? pino(options, destination) : pino(options);
}

export type { Logger };
