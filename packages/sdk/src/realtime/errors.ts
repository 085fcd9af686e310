import type { RealtimeError } from "./client.js";
import { CLOSE_UPGRADE_REQUIRED } from "./codec.js";

/**
 * The realtime server speaks none of the protocol versions this SDK offered
 * (it is newer and has retired them, or older than this SDK): upgrade
 * @parley/sdk. Emitted as an `error` event, after which the client is closed
 * and does not reconnect.
 */
export class RealtimeUpgradeRequiredError extends Error implements RealtimeError {
  readonly code = "upgrade_required";
  readonly closeCode = CLOSE_UPGRADE_REQUIRED;
  /** The server's close reason (it names the versions it speaks). */
  readonly serverReason: string;
  /** The subprotocols this SDK offered. */
  readonly offered: readonly string[];

  constructor(serverReason: string, offered: readonly string[]) {
    super(`upgrade @parley/sdk: the realtime server refused protocol ${offered.join(", ")}${serverReason ? ` (${serverReason})` : ""}`);
    this.name = "RealtimeUpgradeRequiredError";
    this.serverReason = serverReason;
    this.offered = offered;
  }
}
