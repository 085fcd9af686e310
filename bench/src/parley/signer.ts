/** Mints access tokens with the key the server was started with (platform's own signer). */
import { createTokenSigner, loadConfig, signingKeyFromJwk } from "@parley/platform";
import { randomUUID } from "node:crypto";

export async function createSigningKeyFromJwk(jwk: string, ttlSec: number): Promise<(userId: string) => Promise<string>> {
  // Same env as the server child inherits, so issuer and audience match.
  const config = loadConfig({ ...process.env, JWT_PRIVATE_JWK: jwk, ACCESS_TOKEN_TTL: String(ttlSec), DATA_DIR: "memory" });
  const key = await signingKeyFromJwk(JSON.parse(jwk) as Parameters<typeof signingKeyFromJwk>[0], "bench key");
  const signer = createTokenSigner({ key, config });
  return async (userId) => (await signer.signAccess({ userId, sessionId: randomUUID() })).token;
}
