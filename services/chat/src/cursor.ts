/**
 * Opaque page tokens for keyset pagination on (timestamp desc, id desc). The
 * timestamps are stored at millisecond precision, so a Date round-trips exactly.
 */
import { invalid } from "./validation.js";

export interface TimeIdCursor {
  at: Date;
  id: string;
}

export function encodeCursor(cursor: TimeIdCursor): string {
  return Buffer.from(JSON.stringify([cursor.at.getTime(), cursor.id])).toString("base64url");
}

export function decodeCursor(token: string, field = "page_token"): TimeIdCursor | undefined {
  if (token === "") return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
    if (
      Array.isArray(parsed) &&
      parsed.length === 2 &&
      typeof parsed[0] === "number" &&
      Number.isFinite(parsed[0]) &&
      typeof parsed[1] === "string" &&
      /^[0-9a-f-]{36}$/.test(parsed[1])
    ) {
      return { at: new Date(parsed[0]), id: parsed[1] };
    }
  } catch {
    // fall through: any undecodable token is the caller's mistake
  }
  throw invalid(`${field} is not a valid page token`);
}
