/**
 * CORS for browser clients (Connect and gRPC-web), with Connect's own lists of
 * the headers its protocols need plus ours (auth, request id, retry-after).
 */
import { cors as connectCors } from "@connectrpc/connect";
import type { AnyRequest, AnyResponse } from "./types.js";

const allowMethods = connectCors.allowedMethods.join(", ");
const allowHeaders = [...connectCors.allowedHeaders, "Authorization", "X-Request-Id"].join(", ");
const exposeHeaders = [...connectCors.exposedHeaders, "Retry-After", "X-Request-Id"].join(", ");
/** Browsers cap this (Chrome: 2 h); it saves a preflight per call. */
const PREFLIGHT_MAX_AGE_SEC = 7200;

/**
 * Adds CORS headers for allowed origins. Returns true when it answered the
 * request itself (a preflight).
 */
export function handleCors(req: AnyRequest, res: AnyResponse, allowedOrigins: readonly string[]): boolean {
  const origin = req.headers.origin;
  if (typeof origin !== "string" || origin === "") return false;
  const anyOrigin = allowedOrigins.includes("*");
  res.setHeader("vary", "Origin");
  if (!anyOrigin && !allowedOrigins.includes(origin)) {
    // Not allowed: no CORS headers, so the browser blocks the response; preflights end here.
    if (req.method === "OPTIONS" && req.headers["access-control-request-method"]) {
      res.statusCode = 403;
      res.end();
      return true;
    }
    return false;
  }
  // Auth is a bearer header, not cookies, so "*" needs no credentials mode.
  res.setHeader("access-control-allow-origin", anyOrigin ? "*" : origin);
  if (req.method === "OPTIONS" && req.headers["access-control-request-method"]) {
    res.statusCode = 204;
    res.setHeader("access-control-allow-methods", allowMethods);
    res.setHeader("access-control-allow-headers", allowHeaders);
    res.setHeader("access-control-max-age", String(PREFLIGHT_MAX_AGE_SEC));
    res.end();
    return true;
  }
  res.setHeader("access-control-expose-headers", exposeHeaders);
  return false;
}
