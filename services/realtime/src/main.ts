/**
 * The realtime edge as its own process: WebSockets on WS_PORT (/ws), health
 * and metrics from the platform HTTP server on PORT, chat and identity reached
 * over Connect at CHAT_URL and IDENTITY_URL. SIGTERM → runStandalone calls
 * stop(), which drains sockets (Reconnect + batched closes) before exiting.
 */
import { createConnectTransport } from "@connectrpc/connect-node";
import { runStandalone } from "@parley/platform";
import { createRealtimeService } from "./index.js";

function requiredUrl(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required (base URL of the service, e.g. http://chat:8080)`);
  return new URL(value).toString().replace(/\/$/, "");
}

await runStandalone(async (deps) =>
  createRealtimeService(deps, {
    chat: createConnectTransport({ baseUrl: requiredUrl("CHAT_URL"), httpVersion: "1.1" }),
    identity: createConnectTransport({ baseUrl: requiredUrl("IDENTITY_URL"), httpVersion: "1.1" }),
  }),
);
