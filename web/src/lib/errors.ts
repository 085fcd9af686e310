/** Errors in words for the UI: the SDK's wording, plus the few web-only checks. */
import { Code, ConnectError } from "@connectrpc/connect";
import { describeError as describeSdkError, fieldErrors as sdkFieldErrors } from "@parley/sdk/errors";

export function describeError(err: unknown): string {
  // A fetch that never reached the server is a TypeError, not a ConnectError with a code.
  if (err instanceof TypeError) return "The server cannot be reached right now. Check your connection and try again.";
  return describeSdkError(err);
}

/** Per-field messages keyed by proto field name (snake_case), only for the fields a form has. */
export function fieldErrors(err: unknown, fields: readonly string[]): Record<string, string> {
  return sdkFieldErrors(err, fields);
}

export function isUnauthenticated(err: unknown): boolean {
  return err instanceof ConnectError && err.code === Code.Unauthenticated;
}
