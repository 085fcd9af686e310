// Prints a fresh Ed25519 private JWK (with a kid) for JWT_PRIVATE_JWK. Node's own crypto only,
// so it runs anywhere without installing jose.
import { generateKeyPairSync, randomUUID } from "node:crypto";

const { privateKey } = generateKeyPairSync("ed25519");
const jwk = { ...privateKey.export({ format: "jwk" }), kid: randomUUID(), alg: "EdDSA", use: "sig" };
process.stdout.write(`${JSON.stringify(jwk)}\n`);
