/**
 * NATS connection options from NATS_URL and the credential/TLS file settings.
 * nats.js takes credentials as options, not from the URL's user part, so a
 * `nats://user:pass@host` or `nats://token@host` URL is split here into
 * a credential-free server address plus `user`/`pass` or `token`; nkey seeds
 * and creds files go through the library's authenticators; `tls://` (or any
 * TLS file setting) turns TLS on.
 */
import { readFileSync } from "node:fs";
import { credsAuthenticator, nkeyAuthenticator, type Authenticator, type ConnectionOptions, type TlsOptions } from "nats";
import { redactUrl } from "../redact.js";

export interface NatsSecurityOptions {
  /** NATS_CREDS_FILE: a `.creds` file (user JWT + nkey seed), decentralised auth. */
  credsFile?: string | undefined;
  /** NATS_NKEY_SEED_FILE: a file holding an nkey seed (`SU…`). */
  nkeySeedFile?: string | undefined;
  /** NATS_TLS_CA_FILE: CA bundle to verify the server with (turns TLS on). */
  tlsCaFile?: string | undefined;
  /** NATS_TLS_CERT_FILE / NATS_TLS_KEY_FILE: client certificate for mutual TLS. */
  tlsCertFile?: string | undefined;
  tlsKeyFile?: string | undefined;
}

/** Reads a secret file now, so a wrong path fails start-up with the setting's name, not the first reconnect. */
function readSecretFile(path: string, setting: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (err) {
    throw new Error(`bus: cannot read ${setting} ${path}`, { cause: err });
  }
}

function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/** Connection options (servers, auth, TLS) for `connect()`; `display` is the URL safe to log. */
export function natsConnectionOptions(natsUrl: string, sec: NatsSecurityOptions = {}): { options: ConnectionOptions; display: string } {
  const url = new URL(natsUrl);
  const options: ConnectionOptions = {};
  if (url.password) {
    options.user = decode(url.username);
    options.pass = decode(url.password);
  } else if (url.username) {
    options.token = decode(url.username);
  }
  const authenticators: Authenticator[] = [];
  if (sec.credsFile) authenticators.push(credsAuthenticator(readSecretFile(sec.credsFile, "NATS_CREDS_FILE")));
  if (sec.nkeySeedFile) {
    const seed = new TextDecoder().decode(readSecretFile(sec.nkeySeedFile, "NATS_NKEY_SEED_FILE")).trim();
    authenticators.push(nkeyAuthenticator(new TextEncoder().encode(seed)));
  }
  if (authenticators.length > 0) options.authenticator = authenticators;

  const wantsTls = url.protocol === "tls:" || Boolean(sec.tlsCaFile || sec.tlsCertFile || sec.tlsKeyFile);
  if (wantsTls) {
    const tls: TlsOptions = {};
    if (sec.tlsCaFile) tls.caFile = sec.tlsCaFile;
    if (sec.tlsCertFile) tls.certFile = sec.tlsCertFile;
    if (sec.tlsKeyFile) tls.keyFile = sec.tlsKeyFile;
    options.tls = tls;
  }
  // nats.js speaks its own protocol whatever the scheme; only host and port matter to it.
  options.servers = url.port ? url.host : `${url.host}:4222`;
  return { options, display: redactUrl(natsUrl) };
}
