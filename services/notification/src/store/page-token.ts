/**
 * Keyset page tokens for the newest-first list: the (created_at, id) of the
 * last row of the previous page, so pages stay stable while new notifications
 * arrive at the top.
 */
import { Code, ConnectError } from "@connectrpc/connect";

export interface PagePosition {
  createdAt: Date;
  id: string;
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function encodePageToken(position: PagePosition): string {
  return Buffer.from(`${position.createdAt.getTime()}:${position.id}`).toString("base64url");
}

export function decodePageToken(token: string): PagePosition {
  const [ms, id, ...rest] = Buffer.from(token, "base64url").toString("utf8").split(":");
  const createdAtMs = Number(ms);
  if (rest.length > 0 || !Number.isSafeInteger(createdAtMs) || id === undefined || !uuidPattern.test(id)) {
    throw new ConnectError("page_token is not a token this service issued", Code.InvalidArgument);
  }
  return { createdAt: new Date(createdAtMs), id };
}

export function isNotificationId(value: string): boolean {
  return uuidPattern.test(value);
}
