/**
 * The admin port: liveness, readiness (with which backend failed and why) and
 * Prometheus metrics. It is a separate listener so that none of this is
 * reachable through the public port or the ingress: kubelet probes and the
 * ServiceMonitor reach the pod directly. Nothing else is served here.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { respondMetrics, respondReady, type DegradedCheck, type ReadinessCheck } from "./probes.js";
import { pathOf, sendText } from "./types.js";

export interface AdminServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startAdminServer(opts: {
  port: number;
  host?: string | undefined;
  checks: Record<string, ReadinessCheck>;
  metrics: Registry;
  /** True once the server drains: /readyz answers 503. */
  draining: () => boolean;
  /** Masks secrets in readiness failure text. */
  redact: (text: string) => string;
  /** Settings operators must see (e.g. email verification off), shown with every readiness answer. */
  notices?: Record<string, string>;
  /** Problems reported under `degraded` with a ready answer (e.g. parked outbox events). */
  degraded?: Record<string, DegradedCheck>;
  logger: Logger;
}): Promise<AdminServer> {
  const { logger: log } = opts;
  const server = http.createServer((req, res) => {
    const path = pathOf(req);
    if (req.method !== "GET" && req.method !== "HEAD") return sendText(res, 405, "method not allowed");
    if (path === "/healthz") return sendText(res, 200, "ok");
    if (path === "/readyz") {
      respondReady(res, opts.checks, opts.draining(), opts.redact, opts.notices, opts.degraded).catch((err: unknown) => log.error({ err }, "readiness probe failed"));
      return;
    }
    if (path === "/metrics") {
      respondMetrics(res, opts.metrics).catch((err: unknown) => {
        log.error({ err }, "metrics collection failed");
        if (!res.headersSent) sendText(res, 500, "metrics collection failed");
      });
      return;
    }
    sendText(res, 404, "not found");
  });
  // Probes are short; a scraper holding a keep-alive socket must not delay shutdown.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port: opts.port, host: opts.host }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
