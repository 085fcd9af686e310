/** Parley client side of the bench: the SDK's RealtimeClient per user, sends via the SDK's RPC client. */
import { randomUUID } from "node:crypto";
import { createRequire } from "node:module";
import { RealtimeClient, type ParleyClient, type WebSocketConstructor } from "@parley/sdk";
import { createNodeParleyClient } from "@parley/sdk/node";
import type { Conn, ConnectOptions, Driver } from "../lib/driver.js";
import type { ClientSpec } from "../lib/protocol.js";

type WsCtor = new (url: string, protocols: string | string[] | undefined, options: { localAddress?: string }) => object;
// `ws` (what the SDK uses in Node) takes socket options as its third argument; loaded through
// require because the bench has no @types/ws of its own.
const NodeWs = createRequire(import.meta.url)("ws") as WsCtor;

/** A WebSocket constructor that binds the client end to one 127.0.0.x source address. */
function boundWebSocket(localAddress: string): WebSocketConstructor {
  return class extends NodeWs {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols, { localAddress });
    }
  };
}

const OPEN_TIMEOUT_MS = 30_000;

export function createParleyDriver(apiUrl: string): Driver {
  const bySocketAddress = new Map<string, WebSocketConstructor>();
  return {
    async connect(spec: ClientSpec, opts: ConnectOptions): Promise<Conn> {
      let ctor = bySocketAddress.get(opts.localAddress);
      if (!ctor) bySocketAddress.set(opts.localAddress, (ctor = boundWebSocket(opts.localAddress)));
      // RPC clients only for users that send or page history; 19k idle sockets need none.
      let api: ParleyClient | undefined;
      const rpc = () => (api ??= createNodeParleyClient({ baseUrl: apiUrl, protocol: "connect", getAccessToken: () => spec.token }));
      const rt = new RealtimeClient({
        url: spec.url,
        getAccessToken: async () => spec.token,
        WebSocket: ctor,
        messages: { listMessages: (req, callOptions) => rpc().messages.listMessages(req, callOptions) },
        deviceId: `bench-${spec.userId.slice(0, 8)}`,
      });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          cleanup();
          rt.close();
          reject(new Error(`no welcome within ${OPEN_TIMEOUT_MS} ms`));
        }, OPEN_TIMEOUT_MS);
        const offWelcome = rt.on("welcome", () => {
          cleanup();
          resolve();
        });
        const offError = rt.on("error", (e) => {
          // Auth failures are final; transient errors are retried by the client itself.
          if (e.code !== "unauthenticated") return;
          cleanup();
          rt.close();
          reject(new Error(`${e.code}: ${e.message}`));
        });
        const cleanup = () => {
          clearTimeout(timer);
          offWelcome();
          offError();
        };
      });
      let closing = false;
      rt.on("state", (s) => {
        if (s !== "open" && !closing) opts.onDrop();
      });
      rt.on("message", (m) => opts.onMessage(m.conversationId, m.text));
      return {
        spec,
        async send(room, body) {
          await rpc().messages.sendMessage({ conversationId: room, clientMessageId: randomUUID(), text: body });
        },
        close() {
          closing = true;
          rt.close();
        },
      };
    },
  };
}
