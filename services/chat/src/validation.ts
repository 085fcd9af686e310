/**
 * Request validation. Everything is checked before a transaction starts, so a
 * bad request changes nothing; messages name the offending field.
 */
import { Code, ConnectError } from "@connectrpc/connect";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Lone surrogates can arrive through JSON escapes; Postgres would reject them as invalid UTF-8.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
// eslint-disable-next-line no-control-regex
const CONTROL_EXCEPT_WHITESPACE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;

export function invalid(message: string): ConnectError {
  return new ConnectError(message, Code.InvalidArgument);
}

export function requireId(value: string, field: string): string {
  if (value === "") throw invalid(`${field} is required`);
  if (!UUID.test(value)) throw invalid(`${field} is not a valid id`);
  return value.toLowerCase();
}

export function optionalId(value: string, field: string): string | undefined {
  return value === "" ? undefined : requireId(value, field);
}

export function codePointLength(value: string): number {
  let n = 0;
  for (const _ of value) n++;
  return n;
}

function requireWellFormed(value: string, field: string, allowNewlines: boolean): void {
  if (LONE_SURROGATE.test(value)) throw invalid(`${field} is not valid UTF-8`);
  if (value.includes("\u0000")) throw invalid(`${field} must not contain NUL characters`);
  if (!allowNewlines && /[\n\r\t]/.test(value)) throw invalid(`${field} must be a single line`);
  if (CONTROL_EXCEPT_WHITESPACE.test(value)) throw invalid(`${field} must not contain control characters`);
}

export const MAX_MESSAGE_TEXT = 4000;

/** Message text: 1-4000 code points of valid UTF-8, no NUL, not only whitespace. */
export function requireMessageText(value: string, field = "text"): string {
  requireWellFormed(value, field, true);
  if (value.trim() === "") throw invalid(`${field} must not be empty`);
  if (codePointLength(value) > MAX_MESSAGE_TEXT) {
    throw invalid(`${field} must be at most ${MAX_MESSAGE_TEXT} characters`);
  }
  return value;
}

/** Group title: trimmed, 1-100 code points, one line. */
export function requireTitle(value: string): string {
  const title = value.trim();
  requireWellFormed(title, "title", false);
  if (title === "") throw invalid("title must not be empty");
  if (codePointLength(title) > 100) throw invalid("title must be at most 100 characters");
  return title;
}

export function requireClientMessageId(value: string): string {
  if (value === "") throw invalid("client_message_id is required");
  requireWellFormed(value, "client_message_id", false);
  if (codePointLength(value) > 64) throw invalid("client_message_id must be at most 64 characters");
  return value;
}

/** 0 = default; otherwise 1..max. */
export function pageSize(value: number, field: string, defaultSize: number, max: number): number {
  if (value === 0) return defaultSize;
  if (!Number.isInteger(value) || value < 1 || value > max) throw invalid(`${field} must be between 1 and ${max}`);
  return value;
}

export function requireSearchQuery(value: string, max: number): string {
  const query = value.trim();
  requireWellFormed(query, "query", false);
  if (query === "") throw invalid("query must not be empty");
  if (codePointLength(query) > max) throw invalid(`query must be at most ${max} characters`);
  return query;
}

/** Ids from a repeated field: validated, lower-cased, de-duplicated, bounded. */
export function requireIdList(values: string[], field: string, max: number): string[] {
  if (values.length > max) throw invalid(`${field} must have at most ${max} entries`);
  return [...new Set(values.map((v) => requireId(v, field)))];
}
