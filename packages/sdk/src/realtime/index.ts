export { RealtimeClient, type RealtimeClientOptions, type RealtimeEvents, type RealtimeState, type RealtimeError, type SyncedInfo, type UrlSource, type RealtimeStats } from "./client.js";
export { RealtimeUpgradeRequiredError } from "./errors.js";
export type { GapInfo } from "./ordered-streams.js";
export { CLOSE_UPGRADE_REQUIRED, PROTOCOL_VERSIONS, type RealtimeProtocol } from "./codec.js";
export type { WebSocketConstructor, WebSocketLike } from "./socket.js";
export { backoffDelayMs } from "./backoff.js";
