/** Recognising Postgres errors through drizzle's wrapper (DrizzleQueryError keeps the driver error as `cause`). */
function sqlState(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e instanceof Object && depth < 5; depth++) {
    const code: unknown = Reflect.get(e, "code");
    if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) return code;
    e = Reflect.get(e, "cause");
  }
  return undefined;
}

export function isUniqueViolation(error: unknown): boolean {
  return sqlState(error) === "23505";
}
