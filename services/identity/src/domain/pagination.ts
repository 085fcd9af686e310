/**
 * Page tokens are an opaque offset. Lists here are small (friends, requests,
 * search hits ranked by similarity, where keysets don't apply), so an offset
 * is simple and correct enough; clients must treat the token as opaque. The
 * platform codec parses them strictly (malformed → `invalid_argument`).
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { offsetPageTokens } from "@parley/platform/page-token";

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;
/** Deeper than any list here; an OFFSET this large still costs the database little. */
const MAX_OFFSET = 1_000_000;
const pageTokens = offsetPageTokens("identity.offset", MAX_OFFSET);

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
  return pageTokens.decode(token) ?? 0;
}

/**
 * Callers fetch `limit + 1` rows; the extra one only says whether another
 * page exists. Returns the rows to send and the next token ("" = last page).
 */
export function pageOf<T>(rows: T[], page: Page): { items: T[]; nextPageToken: string } {
  const nextOffset = page.offset + page.limit;
  // Past MAX_OFFSET the list ends: a token we would refuse is never handed out.
  if (rows.length <= page.limit || nextOffset > MAX_OFFSET) return { items: rows.slice(0, page.limit), nextPageToken: "" };
  return { items: rows.slice(0, page.limit), nextPageToken: pageTokens.encode(nextOffset) };
}
