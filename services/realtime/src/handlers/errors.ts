import { Code, ConnectError } from "@connectrpc/connect";

/** Connect code as its wire name ("permission_denied"), the form Error frames carry. */
export function codeName(code: Code): string {
  return Code[code].replace(/[A-Z]/g, (c, i: number) => (i === 0 ? c.toLowerCase() : `_${c.toLowerCase()}`));
}

/** Errors that are about the request (the client's to fix), not about us. */
export function isClientError(err: unknown): err is ConnectError {
  if (!(err instanceof ConnectError)) return false;
  return [Code.NotFound, Code.PermissionDenied, Code.InvalidArgument, Code.FailedPrecondition].includes(err.code);
}
