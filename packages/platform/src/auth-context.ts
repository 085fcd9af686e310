/**
 * Caller identity and client address as Connect context values: the auth
 * interceptor sets the claims, the server sets the client IP, handlers read them.
 */
import { Code, ConnectError, createContextKey, type HandlerContext } from "@connectrpc/connect";
import type { AccessClaims } from "./types.js";

/** Claims of the verified bearer token; undefined on anonymous (public) calls. */
export const authClaimsKey = createContextKey<AccessClaims | undefined>(undefined, { description: "parley auth claims" });

/** Client IP as seen by the HTTP server; "" for in-process calls (router transport). */
export const clientIpKey = createContextKey<string>("", { description: "parley client ip" });

/** The authenticated caller; throws unauthenticated on anonymous calls. */
export function requireUser(ctx: HandlerContext): AccessClaims {
  const claims = ctx.values.get(authClaimsKey);
  if (!claims) throw new ConnectError("this call requires an access token", Code.Unauthenticated);
  return claims;
}

/** The caller if a valid token came with the call (public methods). */
export function optionalUser(ctx: HandlerContext): AccessClaims | undefined {
  return ctx.values.get(authClaimsKey);
}
