/**
 * The successor of a rotated refresh token, sealed so that only a client that
 * presents the rotated token can open it: AES-256-GCM under a key derived
 * (HKDF-SHA256) from the rotated token itself, which identity never stores
 * (it keeps only its SHA-256). A database leak therefore yields no usable
 * refresh token, and no server-wide key has to be configured or rotated: the
 * person able to open the seal is exactly the one entitled to the successor
 * during the grace window. The row id is bound in as associated data, so a
 * sealed value copied to another row does not open.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";

const VERSION = "v1";
const INFO = "parley/identity/refresh-successor/v1";
const IV_BYTES = 12;
const TAG_BYTES = 16;

function keyFrom(rotatedToken: string, rowId: string): Buffer {
  return Buffer.from(hkdfSync("sha256", Buffer.from(rotatedToken, "utf8"), Buffer.from(rowId, "utf8"), INFO, 32));
}

export function sealSuccessor(rotatedToken: string, rowId: string, successorToken: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", keyFrom(rotatedToken, rowId), iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(rowId, "utf8"));
  const body = Buffer.concat([cipher.update(successorToken, "utf8"), cipher.final(), cipher.getAuthTag()]);
  return `${VERSION}.${iv.toString("base64url")}.${body.toString("base64url")}`;
}

/** The successor, or undefined if the seal is malformed or was not made for this token and row. */
export function openSuccessor(rotatedToken: string, rowId: string, sealed: string): string | undefined {
  const [version, ivText, bodyText] = sealed.split(".");
  if (version !== VERSION || ivText === undefined || bodyText === undefined) return undefined;
  const iv = Buffer.from(ivText, "base64url");
  const body = Buffer.from(bodyText, "base64url");
  if (iv.length !== IV_BYTES || body.length <= TAG_BYTES) return undefined;
  try {
    const decipher = createDecipheriv("aes-256-gcm", keyFrom(rotatedToken, rowId), iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(rowId, "utf8"));
    decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
    return Buffer.concat([decipher.update(body.subarray(0, body.length - TAG_BYTES)), decipher.final()]).toString("utf8");
  } catch {
    // Authentication failed: not our seal for this token.
    return undefined;
  }
}
