/**
 * The HTTP server every service runs: Connect, gRPC and gRPC-web on HTTP/1.1
 * and h2c on one port, behind CORS, next to health/readiness/metrics probes,
 * module endpoints (JWKS, ...) and optionally the web client's static files.
 */
import { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createContextValues } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { clientIpKey } from "./auth-context.js";
import { createClientIpResolver } from "./http/client-ip.js";
import { handleCors } from "./http/cors.js";
import { createDualProtocolServer } from "./http/dual-protocol.js";
import { respondMetrics, respondReady, type ReadinessCheck } from "./http/probes.js";
import { createStaticHandler } from "./http/static.js";
import { pathOf, sendText, type AnyRequest, type AnyResponse } from "./http/types.js";
import { createInterceptors } from "./interceptors.js";
import { assertPoliciesExist } from "./rate-limit-policies.js";
import type { PlatformDeps, ServiceModule } from "./types.js";


const LISTEN_BACKLOG = 4096;
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
  /** How long close() waits for in-flight requests before dropping connections. Default 10 s. */
  closeGraceMs?: number;
}

export interface RunningServer {
  readonly port: number;
  /** http://host:port, for logs and clients. */
  readonly url: string;
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
  const serveStatic = opts.staticDir ? createStaticHandler(opts.staticDir, log) : undefined;
  const notFound = (req: AnyRequest, res: AnyResponse) => {
    if (serveStatic) {
      serveStatic(req, res).catch((err: unknown) => log.error({ err }, "static handler failed"));
      return;
    }
    sendText(res, 404, "not found");
  };

  const connectHandler = connectNodeAdapter({
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
  for (const m of modules) {
    const ready = m.ready?.bind(m);
    if (ready) checks[`module:${m.name}`] = ready;
  }

  const handle = (req: AnyRequest, res: AnyResponse): void => {
    if (handleCors(req, res, deps.config.corsOrigins)) return;
    const path = pathOf(req);
    if (req.method === "GET" || req.method === "HEAD") {
      if (path === "/healthz") return sendText(res, 200, "ok");
      if (path === "/readyz") {
        respondReady(res, checks, draining).catch((err: unknown) => log.error({ err }, "readiness probe failed"));
        return;
      }
      if (path === "/metrics") {
        respondMetrics(res, deps.metrics).catch((err: unknown) => {
          log.error({ err }, "metrics collection failed");
          if (!res.headersSent) sendText(res, 500, "metrics collection failed");
        });
        return;
      }
    }
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

  let closing: Promise<void> | undefined;
  return {
    port,
    url,
    markNotReady() {
      draining = true;
    },
    close() {
      draining = true;
      closing ??= dual.shutdown(opts.closeGraceMs ?? 10_000);
      return closing;
    },
  };
}
