/**
 * Which thrown errors mean "a backend is unreachable or overloaded right now"
 * (the client should retry) rather than "our bug": pool and connection
 * timeouts, refused or dropped connections, and Postgres' own timeout and
 * shutdown codes. The errors interceptor answers these `unavailable`.
 */

/** Messages of pg / pg-pool for timeouts and lost connections (they carry no code). */
const PG_MESSAGES = [
  "timeout exceeded when trying to connect",
  "Connection terminated due to connection timeout",
  "Connection terminated unexpectedly",
  "Query read timeout",
  "Client has encountered a connection error and is not queryable",
  "Connection terminated",
];

/** Node socket error codes of an unreachable peer. */
const SOCKET_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN"]);

/**
 * SQLSTATEs: 08xxx connection exceptions, 53300 too many connections, 57014
 * statement timeout / cancel, 57P01-57P03 shutdown / cannot connect now,
 * 25P03 idle-in-transaction timeout.
 */
function isUnavailableSqlState(code: string): boolean {
  return code.startsWith("08") || ["53300", "57014", "57P01", "57P02", "57P03", "25P03"].includes(code);
}

function matches(err: Error): boolean {
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string" && (SOCKET_CODES.has(code) || (/^[0-9A-Z]{5}$/.test(code) && isUnavailableSqlState(code)))) return true;
  return PG_MESSAGES.some((m) => err.message.startsWith(m));
}

/** True if `err` or any error in its cause chain (drizzle wraps driver errors) is a backend outage. */
export function isBackendUnavailable(err: unknown): boolean {
  let current: unknown = err;
  for (let depth = 0; depth < 8 && current instanceof Error; depth++) {
    if (matches(current)) return true;
    current = current.cause;
  }
  return false;
}
