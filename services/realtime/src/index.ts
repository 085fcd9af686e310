/**
 * The realtime edge: WebSockets in (uWebSockets.js), events out to sockets.
 * See README.md for the protocol, guarantees and failure policy.
 */
import type { Transport } from "@connectrpc/connect";
import type { PlatformDeps, ServiceModule, Subscription } from "@parley/platform";
import { startEventDelivery } from "./events/event-delivery.js";
import { startPresenceWatch } from "./events/presence-watch.js";
import { startSessionRevocations } from "./events/session-revocations.js";
import type { EdgeContext } from "./handlers/context.js";
import { drainSockets } from "./handlers/drain.js";
import { refreshSocketLeases } from "./handlers/frame-limits.js";
import { listenEdge, type ListeningEdge } from "./handlers/server.js";
import { startSweeper } from "./handlers/sweeper.js";
import { createRealtimeMetrics } from "./metrics.js";
import { startBlocksConsumer } from "./store/blocks.js";
import { createPeerClients } from "./store/peers.js";
import { PresenceSubscriptions } from "./store/presence-subscriptions.js";
import { heartbeatAll } from "./store/presence.js";
import { SocketRegistry } from "./store/registry.js";
import { defaultTuning, type RealtimeTuning } from "./tuning.js";

export type { RealtimeTuning } from "./tuning.js";
export { defaultTuning } from "./tuning.js";

export interface RealtimeOptions {
  /** Transport to chat (ConversationService, MessageService). */
  chat: Transport;
  /** Transport to identity (FriendService). */
  identity: Transport;
  /** Default deps.config.wsPort; 0 picks a free port (see wsPort()). */
  port?: number;
  /** Default 0.0.0.0. */
  host?: string;
  tuning?: Partial<RealtimeTuning>;
}

export interface RealtimeModule extends ServiceModule {
  /** The bound WebSocket port (after start()). */
  wsPort(): number;
  /** SIGTERM path: stop accepting, tell every socket to reconnect elsewhere, close them in batches. */
  drain(): Promise<void>;
  /** Open sockets on this node. */
  socketCount(): number;
}

export async function createRealtimeService(deps: PlatformDeps, opts: RealtimeOptions): Promise<RealtimeModule> {
  const tuning: RealtimeTuning = {
    ...defaultTuning,
    maxSocketsPerUser: deps.config.wsMaxSocketsPerUser,
    // A third of the TTL, as the defaults (20 s of 60 s): two heartbeats may be lost before an entry expires.
    presenceTtlMs: deps.config.presenceTtlMs,
    presenceHeartbeatMs: Math.max(1_000, Math.floor(deps.config.presenceTtlMs / 3)),
    ...opts.tuning,
  };
  const ctx: EdgeContext = {
    deps,
    nodeId: deps.config.nodeId,
    tuning,
    metrics: createRealtimeMetrics(deps.metrics),
    logger: deps.logger.child({ svc: "realtime", nodeId: deps.config.nodeId }),
    peers: createPeerClients({ chat: opts.chat, identity: opts.identity }),
    registry: new SocketRegistry(),
    presenceSubscriptions: new PresenceSubscriptions(),
    pendingSockets: new Set(),
    draining: false,
  };
  let edge: ListeningEdge | undefined;
  let subscriptions: Subscription[] = [];
  let timers: Array<() => void> = [];
  let drained: Promise<void> | undefined;

  async function stopConsumers(): Promise<void> {
    const subs = subscriptions;
    subscriptions = [];
    await Promise.all(subs.map((s) => s.stop()));
  }

  const module: RealtimeModule = {
    name: "realtime",
    routes() {
      // No Connect routes: the edge speaks WebSocket on its own port.
    },
    async start() {
      // Before the socket listener: an event published after a socket registered must reach it.
      subscriptions.push(await startEventDelivery(ctx));
      subscriptions.push(await startPresenceWatch(ctx));
      subscriptions.push(await startSessionRevocations(ctx));
      subscriptions.push(await startBlocksConsumer(deps));
      const heartbeat = setInterval(() => {
        heartbeatAll(ctx).catch((err: unknown) => ctx.logger.warn({ err }, "presence heartbeat failed"));
        refreshSocketLeases(ctx).catch((err: unknown) => ctx.logger.warn({ err }, "socket lease refresh failed"));
      }, tuning.presenceHeartbeatMs);
      heartbeat.unref();
      timers = [() => clearInterval(heartbeat), startSweeper(ctx)];
      edge = await listenEdge(ctx, opts.host ?? "0.0.0.0", opts.port ?? deps.config.wsPort);
      ctx.logger.info({ port: edge.port }, "realtime edge listening on /ws");
    },
    wsPort() {
      if (!edge) throw new Error("realtime: wsPort() before start()");
      return edge.port;
    },
    socketCount() {
      return ctx.registry.size;
    },
    drain() {
      drained ??= (async () => {
        edge?.stopListening();
        await drainSockets(ctx);
        await stopConsumers();
        for (const stop of timers) stop();
        timers = [];
      })();
      return drained;
    },
    async stop() {
      await module.drain();
    },
    async ready() {
      if (!edge || ctx.draining) throw new Error("realtime edge not accepting sockets");
    },
  };
  return module;
}
