/**
 * The HTTP server every service runs: Connect, gRPC and gRPC-web on HTTP/1.1
 * and h2c on one port, behind CORS, next to module endpoints (JWKS, ...) and
 * optionally the web client's static files. Health, readiness and metrics are
 * on a separate admin port (http/admin.ts), never on the public one.
 */
import { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createContextValues } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { clientIpKey } from "./auth-context.js";
import { createClientIpResolver } from "./http/client-ip.js";
import { handleCors } from "./http/cors.js";
import { configNotices } from "./http/config-notices.js";
import { createDualProtocolServer } from "./http/dual-protocol.js";
import { startAdminServer, type AdminServer } from "./http/admin.js";
import type { DegradedCheck, ReadinessCheck } from "./http/probes.js";
import { createStaticHandler } from "./http/static.js";
import { pathOf, sendText, type AnyRequest, type AnyResponse } from "./http/types.js";
import { createInterceptors } from "./interceptors.js";
import { assertPoliciesExist } from "./rate-limit-policies.js";
import { rpcHandlerOptions } from "./rpc-handler-options.js";
import { redactWith, secretsOfUrls } from "./redact.js";
import type { PlatformDeps, ServiceModule } from "./types.js";


const LISTEN_BACKLOG = 4096;
const ADMIN_ONLY_PATHS = new Set(["/healthz", "/readyz", "/metrics"]);
export type { ReadinessCheck };

/** Deps plus readiness checks of backends not visible in PlatformDeps (the stores' Redis). */
export type ServerDeps = PlatformDeps & { readinessChecks?: Record<string, ReadinessCheck> };

export interface StartServerOptions {
  deps: ServerDeps;
  modules: ServiceModule[];
  /** 0 picks a free port (tests). */
  port: number;
  /** Default: all interfaces. */
  host?: string;
  /** Built web client to serve, with SPA fallback to index.html. */
  staticDir?: string | undefined;
  /** Admin port for /healthz, /readyz, /metrics (0 = a free one); absent = no admin listener. */
  adminPort?: number | undefined;
  /** Interface of the admin listener; default: same as `host`. */
  adminHost?: string | undefined;
  /** How long close() waits for in-flight requests before dropping connections. Default 10 s. */
  closeGraceMs?: number;
}

export interface RunningServer {
  readonly port: number;
  /** http://host:port, for logs and clients. */
  readonly url: string;
  /** The admin listener's port and URL, if one was asked for. */
  readonly adminPort: number | undefined;
  readonly adminUrl: string | undefined;
  /** /readyz answers 503 from now on, so the load balancer stops sending traffic before close(). */
  markNotReady(): void;
  close(): Promise<void>;
}

function formatUrl(host: string | undefined, port: number): string {
  const h = !host || host === "0.0.0.0" || host === "::" ? "localhost" : host.includes(":") ? `[${host}]` : host;
  return `http://${h}:${port}`;
}

export async function startServer(opts: StartServerOptions): Promise<RunningServer> {
  const { deps, modules } = opts;
  const log = deps.logger.child({ component: "http" });
  let draining = false;

  const clientIp = createClientIpResolver(deps.config.trustProxy);
  const serveStatic = opts.staticDir
    ? createStaticHandler(opts.staticDir, log, { connectSrc: [deps.config.publicUrl, deps.config.publicWsUrl] })
    : undefined;
  const notFound = (req: AnyRequest, res: AnyResponse) => {
    if (serveStatic) {
      serveStatic(req, res).catch((err: unknown) => log.error({ err }, "static handler failed"));
      return;
    }
    sendText(res, 404, "not found");
  };

  const connectHandler = connectNodeAdapter({
    // Request size bound (also after decompression) and strict UTF-8 for JSON bodies.
    ...rpcHandlerOptions(),
    routes: (router) => {
      for (const m of modules) m.routes(router);
      // Fail at start-up, not on the first call, if a proto names a policy we don't have.
      assertPoliciesExist(router.handlers.map((h) => h.method));
    },
    interceptors: createInterceptors(deps),
    contextValues: (req) => createContextValues().set(clientIpKey, clientIp(req)),
    // connect-node types its response without `write`; it is the same http/http2 response object.
    fallback: (req, res) => notFound(req, res as AnyResponse),
  });

  const checks: Record<string, ReadinessCheck> = {
    database: () => deps.database.ping(),
    bus: () => deps.bus.ping(),
    ...deps.readinessChecks,
  };
  const degradedChecks: Record<string, DegradedCheck> = {};
  for (const m of modules) {
    const ready = m.ready?.bind(m);
    if (ready) checks[`module:${m.name}`] = ready;
    const degraded = m.degraded?.bind(m);
    if (degraded) degradedChecks[`module:${m.name}`] = degraded;
  }

  const handle = (req: AnyRequest, res: AnyResponse): void => {
    if (handleCors(req, res, deps.config.corsOrigins)) return;
    // Probes and metrics live on the admin port; say so plainly instead of serving the SPA shell for them.
    if (ADMIN_ONLY_PATHS.has(pathOf(req))) return sendText(res, 404, "not found (served on the admin port)");
    // Module endpoints (JWKS, email links) are plain HTTP/1.1; h2c is only spoken by gRPC clients.
    if (req instanceof IncomingMessage && res instanceof ServerResponse) {
      for (const m of modules) if (m.http?.(req, res)) return;
    }
    connectHandler(req, res);
  };

  const dual = createDualProtocolServer(handle, log);
  await new Promise<void>((resolve, reject) => {
    dual.server.once("error", reject);
    // Node's default accept backlog (511) overflows when many clients connect
    // at once (reconnect storms, HTTP/1.1 bursts); the kernel caps it at somaxconn.
    dual.server.listen({ port: opts.port, host: opts.host, backlog: LISTEN_BACKLOG }, () => {
      dual.server.off("error", reject);
      resolve();
    });
  });
  const port = (dual.server.address() as AddressInfo).port;
  const url = formatUrl(opts.host, port);

  let admin: AdminServer | undefined;
  if (opts.adminPort !== undefined) {
    const c = deps.config;
    const secrets = secretsOfUrls([c.databaseUrl, c.natsUrl, c.redisUrl, c.smtpUrl]);
    try {
      admin = await startAdminServer({
        port: opts.adminPort,
        host: opts.adminHost ?? opts.host,
        checks,
        metrics: deps.metrics,
        draining: () => draining,
        redact: (text) => redactWith(text, secrets),
        notices: configNotices(deps.config),
        degraded: degradedChecks,
        logger: log,
      });
    } catch (err) {
      await dual.shutdown(0);
      throw new Error(`admin port ${opts.adminPort}: cannot listen`, { cause: err });
    }
  }

  let closing: Promise<void> | undefined;
  return {
    port,
    url,
    adminPort: admin?.port,
    adminUrl: admin ? formatUrl(opts.adminHost ?? opts.host, admin.port) : undefined,
    markNotReady() {
      draining = true;
    },
    close() {
      draining = true;
      closing ??= Promise.all([dual.shutdown(opts.closeGraceMs ?? 10_000), admin?.close()]).then(() => undefined);
      return closing;
    },
  };
}
