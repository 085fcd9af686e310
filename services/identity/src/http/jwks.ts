/** GET /.well-known/jwks.json: the public keys every service verifies access tokens with. */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { TokenSigner } from "@parley/platform";

export const JWKS_PATH = "/.well-known/jwks.json";

export function serveJwks(signer: TokenSigner, req: IncomingMessage, res: ServerResponse): boolean {
  const path = (req.url ?? "").split("?")[0];
  if (path !== JWKS_PATH) return false;
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.writeHead(405, { allow: "GET, HEAD" }).end();
    return true;
  }
  const body = JSON.stringify(signer.jwks());
  res.writeHead(200, {
    "content-type": "application/jwk-set+json",
    // Short cache: verifiers pick up a new key (published before it signs) within minutes.
    "cache-control": "public, max-age=300",
    "content-length": Buffer.byteLength(body),
  });
  res.end(req.method === "HEAD" ? undefined : body);
  return true;
}
