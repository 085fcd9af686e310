import type { PlatformDeps } from "@parley/platform";
import type { RealtimeMetrics } from "../metrics.js";
import type { RealtimeTuning } from "../tuning.js";
import type { PeerClients } from "../store/peers.js";
import type { PresenceSubscriptions } from "../store/presence-subscriptions.js";
import type { SocketRegistry } from "../store/registry.js";
import type { Connection } from "./connection.js";

/** What every socket handler of one edge node shares. */
export interface EdgeContext {
  readonly deps: PlatformDeps;
  readonly nodeId: string;
  readonly tuning: RealtimeTuning;
  readonly metrics: RealtimeMetrics;
  readonly logger: PlatformDeps["logger"];
  readonly peers: PeerClients;
  readonly registry: SocketRegistry;
  /** Which local socket watches which users' presence (the conversation it is viewing). */
  readonly presenceSubscriptions: PresenceSubscriptions;
  /** Sockets holding unacked frames: the sweeper only visits these for resends. */
  readonly pendingSockets: Set<Connection>;
  draining: boolean;
}
