import type { IncomingMessage, ServerResponse } from "node:http";
import type { PlatformConfig } from "../config.js";
import type { ServiceModule } from "../types.js";

/**
 * `GET /config.json`: where the web client finds the API and the WebSocket
 * edge. Served by whatever serves the web client (embedded mode, or the
 * standalone service given WEB_DIST: identity in the chart), so the built client
 * needs no rebuild per deployment and finds `/ws` behind the ingress.
 */
export function webConfigModule(config: PlatformConfig): ServiceModule {
  const body = JSON.stringify({
    apiUrl: config.publicUrl,
    wsUrl: config.publicWsUrl,
    // The web client shows its dev-mailbox panel only when DevMailboxService is really served.
    devMailbox: config.devMailbox && config.smtpUrl === undefined,
    emailVerification: config.emailVerification,
  });
  return {
    name: "web-config",
    routes() {},
    http(req: IncomingMessage, res: ServerResponse) {
      if (req.method !== "GET" || req.url?.split("?")[0] !== "/config.json") return false;
      res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" });
      res.end(body);
      return true;
    },
    async start() {},
    async stop() {},
  };
}
