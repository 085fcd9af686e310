import { pino, type Logger } from "pino";

/** JSON logs to stdout; one child per service (`svc`) and per request (`req_id`). */
export function createLogger(level: string, base: Record<string, unknown> = {}): Logger {
  return pino({ level, base: { ...base }, timestamp: pino.stdTimeFunctions.isoTime });
}

export type { Logger };
