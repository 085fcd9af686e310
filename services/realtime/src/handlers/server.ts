/** The uWS app: one WebSocket route, /ws. */
import uWS from "uWebSockets.js";
import type { SocketData } from "./connection.js";
import type { EdgeContext } from "./context.js";
import { onClose, onMessage, onOpen, onUpgrade } from "./lifecycle.js";

export interface ListeningEdge {
  port: number;
  /** Stops accepting new sockets; open ones are left to drain. */
  stopListening(): void;
}

/** Nothing thrown may unwind into uWS's native loop: it is logged and the node carries on. */
function guarded(ctx: EdgeContext, where: string, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    ctx.logger.error({ err, where }, "uWS handler threw");
  }
}

export async function listenEdge(ctx: EdgeContext, host: string, port: number): Promise<ListeningEdge> {
  const app = uWS.App().ws<SocketData>("/ws", {
    maxPayloadLength: ctx.tuning.hardMaxPayloadBytes,
    // No permessage-deflate: a compressed frame would be inflated before any limit of ours sees it
    // (the compression-bomb shape of audit item 1). uWS's default, stated so nobody turns it on lightly.
    compression: uWS.DISABLED,
    // Above maxBufferedBytes the socket is closed as a slow consumer first;
    // this is uWS's own hard stop, where a send is dropped (send() returns 2,
    // which also closes the socket: never a silent drop).
    maxBackpressure: ctx.tuning.maxBufferedBytes * 2,
    closeOnBackpressureLimit: 0,
    idleTimeout: 60,
    sendPingsAutomatically: true,
    upgrade: (res, req, context) => guarded(ctx, "upgrade", () => onUpgrade(ctx, res, req, context)),
    open: (ws) => guarded(ctx, "open", () => onOpen(ctx, ws)),
    message: (ws, data, isBinary) => guarded(ctx, "message", () => onMessage(ctx, ws, data, isBinary)),
    close: (ws) => guarded(ctx, "close", () => onClose(ctx, ws)),
  });
  app.any("/*", (res) => {
    res.writeStatus("404 Not Found").end("websocket endpoint is /ws");
  });
  const listenSocket = await new Promise<uWS.us_listen_socket>((resolve, reject) => {
    app.listen(host, port, (socket) => (socket ? resolve(socket) : reject(new Error(`realtime: cannot listen on ${host}:${port}`))));
  });
  let listening = true;
  return {
    port: uWS.us_socket_local_port(listenSocket as uWS.us_socket),
    stopListening() {
      if (!listening) return;
      listening = false;
      uWS.us_listen_socket_close(listenSocket);
    },
  };
}
