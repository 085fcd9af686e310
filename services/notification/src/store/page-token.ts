/**
 * Keyset page tokens for the newest-first list: the (created_at, id) of the
 * last row of the previous page, so pages stay stable while new notifications
 * arrive at the top. Parsed strictly by the platform codec: a malformed token
 * is `invalid_argument` and never reaches a query.
 */
import { timeIdPageTokens } from "@parley/platform/page-token";

export interface PagePosition {
  createdAt: Date;
  id: string;
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const pageTokens = timeIdPageTokens("notification.feed");

export function encodePageToken(position: PagePosition): string {
  return pageTokens.encode({ at: position.createdAt, id: position.id });
}

/** "" (first page) → undefined. */
export function decodePageToken(token: string): PagePosition | undefined {
  const p = pageTokens.decode(token);
  return p && { createdAt: p.at, id: p.id };
}

export function isNotificationId(value: string): boolean {
  return uuidPattern.test(value);
}
