/** Messages between the main thread and the PGlite worker thread (structured-cloned). */

export type RowMode = "array" | "object";

export type ThreadRequest =
  | { op: "query"; id: number; sql: string; params: unknown[]; rowMode: RowMode; tx?: number }
  | { op: "exec"; id: number; sql: string; tx?: number }
  | { op: "begin"; id: number; tx: number }
  | { op: "end"; id: number; tx: number; commit: boolean }
  | { op: "listen"; id: number; channel: string }
  | { op: "unlisten"; id: number; channel: string }
  | { op: "close"; id: number };

/** A database error's own fields (SQLSTATE `code`, `constraint`, …): callers map them to RPC codes. */
export type ErrorFields = { message: string } & Record<string, unknown>;

export type ThreadReply =
  | { op: "ready" }
  | { op: "open-failed"; error: ErrorFields }
  | { op: "result"; id: number; value: unknown }
  | { op: "error"; id: number; error: ErrorFields }
  | { op: "notify"; channel: string };

export interface ThreadOptions {
  /** PGlite files; absent = in memory. */
  path: string | undefined;
  logLevel: string;
}

export function errorFields(err: unknown): ErrorFields {
  if (!(err instanceof Error)) return { message: String(err) };
  const fields: ErrorFields = { message: err.message };
  for (const [key, value] of Object.entries(err)) {
    if (value === undefined || typeof value === "function" || typeof value === "object") continue;
    fields[key] = value;
  }
  return fields;
}

export function errorFrom(fields: ErrorFields): Error {
  const { message, ...rest } = fields;
  return Object.assign(new Error(message), rest);
}
