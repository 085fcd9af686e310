/** Recognising Postgres errors through drizzle's and the drivers' wrappers. */

interface PgErrorLike {
  code?: unknown;
  constraint?: unknown;
  cause?: unknown;
}

/**
 * The unique index a failed statement violated, if that is why it failed.
 * drizzle wraps driver errors (DrizzleQueryError.cause), so the chain is walked.
 */
export function violatedUniqueIndex(err: unknown): string | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 5 && typeof current === "object" && current !== null; depth++) {
    const e = current as PgErrorLike;
    if (e.code === "23505") return typeof e.constraint === "string" ? e.constraint : "";
    current = e.cause;
  }
  return undefined;
}
