/**
 * Page tokens are an opaque offset. Lists here are small (friends, requests,
 * search hits ranked by similarity, where keysets don't apply), so an offset
 * is simple and correct enough; clients must treat the token as opaque.
 */
import { Code, ConnectError } from "@connectrpc/connect";

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

export interface Page {
  limit: number;
  offset: number;
}

export function parsePage(pageSize: number, pageToken: string): Page {
  if (pageSize < 0 || pageSize > MAX_PAGE_SIZE) {
    throw new ConnectError(`page_size must be between 1 and ${MAX_PAGE_SIZE}`, Code.InvalidArgument);
  }
  return { limit: pageSize === 0 ? DEFAULT_PAGE_SIZE : pageSize, offset: decodeOffset(pageToken) };
}

function decodeOffset(token: string): number {
  if (token === "") return 0;
  const match = /^o(\d{1,9})$/.exec(Buffer.from(token, "base64url").toString("utf8"));
  if (!match?.[1]) throw new ConnectError("page_token is invalid", Code.InvalidArgument);
  return Number(match[1]);
}

/**
 * Callers fetch `limit + 1` rows; the extra one only says whether another
 * page exists. Returns the rows to send and the next token ("" = last page).
 */
export function pageOf<T>(rows: T[], page: Page): { items: T[]; nextPageToken: string } {
  if (rows.length <= page.limit) return { items: rows, nextPageToken: "" };
  const next = Buffer.from(`o${page.offset + page.limit}`, "utf8").toString("base64url");
  return { items: rows.slice(0, page.limit), nextPageToken: next };
}
