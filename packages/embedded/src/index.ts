/**
 * Every Parley service in one process: the `make dev` product and the harness
 * the end-to-end, browser and bench suites start. Backends follow the
 * environment exactly as in distributed mode (PGlite / in-process bus / memory
 * stores unless DATABASE_URL / NATS_URL / REDIS_URL are set), and the realtime
 * edge reaches chat and identity through Connect's router transport with the
 * same interceptors as the network path, so in-process calls are authorised
 * exactly like remote ones.
 */
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { existsSync } from "node:fs";
import { createRouterTransport, type ConnectRouter } from "@connectrpc/connect";
import {
  createInterceptors,
  createLogger,
  createPlatform,
  loadConfig,
  startServer,
  webConfigModule,
  type PlatformDeps,
  type ServiceModule,
} from "@parley/platform";
import { rpcHandlerOptions } from "@parley/platform/rpc-handler-options";
import { createIdentityService } from "@parley/identity";
import { createChatService } from "@parley/chat";
import { createNotificationService } from "@parley/notification";
import { createRealtimeService } from "@parley/realtime";

export interface EmbeddedOptions {
  /** Overrides on top of process.env (e.g. { DATA_DIR: "memory" }). */
  env?: Record<string, string | undefined>;
  /** HTTP port; 0 picks a free one. Default: PORT or 8080. */
  port?: number;
  /** WebSocket port; 0 picks a free one. Default: WS_PORT or 8081. */
  wsPort?: number;
  /** Admin port (/healthz, /readyz, /metrics); 0 picks a free one. Default: ADMIN_PORT or 9090, or 0 when `port` is 0. */
  adminPort?: number;
  /** Interface to bind; default 127.0.0.1 unless HOST is set. */
  host?: string;
  /**
   * false: no realtime edge in this process (wsUrl is then PUBLIC_WS_URL, if any): the edge runs
   * apart (services/realtime), as in Kubernetes, so socket writes get a core of their own. The
   * bench's `parley-split` target runs it this way. Default true.
   */
  realtime?: boolean;
}

export interface EmbeddedParley {
  apiUrl: string;
  wsUrl: string;
  /** Health, readiness and metrics (not on apiUrl). */
  adminUrl: string;
  deps: PlatformDeps;
  close(): Promise<void>;
}

const defaultWebDist = fileURLToPath(new URL("../../../web/dist", import.meta.url));

/**
 * Embedded development without SMTP opts into the dev mailbox, so `make dev` can verify accounts.
 * Never in production (config refuses it there), never when mail has somewhere real to go.
 */
function devMailboxDefault(env: Record<string, string | undefined>): string {
  const development = (env.NODE_ENV ?? "development") !== "production";
  return development && !env.SMTP_URL && env.EMAIL_VERIFICATION !== "off" ? "true" : "false";
}

export async function startEmbedded(opts: EmbeddedOptions = {}): Promise<EmbeddedParley> {
  const env = { ...process.env, ...opts.env };
  const host = opts.host ?? env.HOST ?? "127.0.0.1";
  // Ports are chosen before the config is built because links in emails and
  // /config.json must name the port the server really listens on.
  const port = await resolvePort(opts.port ?? numberOr(env.PORT, 8080), host);
  const wsPort = await resolvePort(opts.wsPort ?? numberOr(env.WS_PORT, 8081), host);
  const displayHost = host === "0.0.0.0" || host === "::" ? "localhost" : host;
  const config = loadConfig({
    ...env,
    DEV_MAILBOX: env.DEV_MAILBOX ?? devMailboxDefault(env),
    PORT: String(port),
    WS_PORT: String(wsPort),
    PUBLIC_URL: env.PUBLIC_URL ?? `http://${displayHost}:${port}`,
    PUBLIC_WS_URL: env.PUBLIC_WS_URL ?? `ws://${displayHost}:${wsPort}/ws`,
  });
  const logger = createLogger(config.logLevel, { app: "parley" });
  const deps = await createPlatform(config, logger);

  const identity = await createIdentityService(deps);
  const chat = await createChatService(deps);
  const notification = await createNotificationService(deps);
  const inProcess = createRouterTransport(
    (router: ConnectRouter) => {
      identity.routes(router);
      chat.routes(router);
    },
    { router: { ...rpcHandlerOptions(), interceptors: createInterceptors(deps) } },
  );
  const realtime =
    opts.realtime === false ? undefined : await createRealtimeService(deps, { chat: inProcess, identity: inProcess, port: wsPort, host });
  const modules: ServiceModule[] = [identity, chat, notification, ...(realtime ? [realtime] : []), webConfigModule(config)];

  for (const m of modules) await m.start();
  const webDist = config.webDist ?? defaultWebDist;
  const server = await startServer({
    deps,
    modules,
    port,
    host,
    staticDir: existsSync(webDist) ? webDist : undefined,
    adminPort: opts.adminPort ?? (opts.port === 0 ? 0 : config.adminPort),
  });

  let closed = false;
  return {
    apiUrl: config.publicUrl,
    wsUrl: config.publicWsUrl,
    adminUrl: server.adminUrl ?? "",
    deps,
    async close() {
      if (closed) return;
      closed = true;
      await realtime?.stop();
      await server.close();
      for (const m of [notification, chat, identity]) await m.stop();
      await deps.close();
    },
  };
}

function numberOr(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return value !== undefined && value !== "" && Number.isInteger(n) ? n : fallback;
}

async function resolvePort(port: number, host: string): Promise<number> {
  if (port !== 0) return port;
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, host, () => {
      const address = probe.address();
      const free = typeof address === "object" && address ? address.port : 0;
      probe.close(() => resolve(free));
    });
  });
}
