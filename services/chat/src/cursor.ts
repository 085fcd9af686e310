/**
 * Page tokens for keyset pagination on (timestamp desc, id desc), one kind
 * per list so a token of one is refused by the other. The timestamps are
 * stored at millisecond precision, so a Date round-trips exactly. Parsing is
 * the platform's strict codec: a malformed token is `invalid_argument` and
 * never reaches a query.
 */
import { timeIdPageTokens, type TimeIdPosition } from "@parley/platform/page-token";

export type TimeIdCursor = TimeIdPosition;

export const conversationPageTokens = timeIdPageTokens("chat.conversations");
export const messageSearchPageTokens = timeIdPageTokens("chat.message-search");
