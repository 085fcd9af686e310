/**
 * The floor: raw uWebSockets.js pub/sub (the library Parley's edge is built on) with nothing
 * but a room broadcast, speaking just enough of Engine.IO v4 / Socket.IO v5 that the light
 * Socket.IO client (light/socketio.ts) drives it unchanged: OPEN packet, CONNECT with auth,
 * `join` and `send` events with acks, `msg` broadcasts. Nothing persisted, one process.
 * What it shows: the cost of WebSocket fan-out itself on this machine, below which no chat
 * server can go. Env: PORT (0 = any), HOST. Sends { t: "listening", port } over IPC.
 */
import uWS from "uWebSockets.js";
import { serveGcRequests } from "./lib/proc.js";

interface SocketData {
  user: string;
}

const OPEN_PACKET = `0${JSON.stringify({ sid: "uws", upgrades: [], pingInterval: 25_000, pingTimeout: 60_000, maxPayload: 1_000_000 })}`;
const decoder = new TextDecoder();
let nextId = 0;

const app = uWS.App();
app.ws<SocketData>("/*", {
  compression: uWS.DISABLED,
  idleTimeout: 120,
  sendPingsAutomatically: true,
  maxPayloadLength: 1 << 20,
  maxBackpressure: 16 << 20,
  open: (ws) => void ws.send(OPEN_PACKET),
  message: (ws, data) => {
    const s = decoder.decode(data);
    if (s.startsWith("40")) {
      const auth = JSON.parse(s.slice(2) || "{}") as { user?: unknown };
      ws.getUserData().user = typeof auth.user === "string" ? auth.user : "";
      ws.send(`40${JSON.stringify({ sid: String(nextId++) })}`);
      return;
    }
    if (!s.startsWith("42")) return; // pongs and anything else
    const open = s.indexOf("[");
    const ackId = s.slice(2, open);
    const [event, arg] = JSON.parse(s.slice(open)) as [string, unknown];
    if (event === "join" && Array.isArray(arg)) {
      for (const room of arg) if (typeof room === "string") ws.subscribe(room);
      if (ackId) ws.send(`43${ackId}[true]`);
    } else if (event === "send" && typeof arg === "object" && arg !== null) {
      const { room, body } = arg as { room?: unknown; body?: unknown };
      if (typeof room !== "string" || typeof body !== "string") return;
      const id = `${process.pid}-${nextId++}`;
      // app.publish reaches every subscriber, the sender's own socket included (as Socket.IO's io.to()).
      app.publish(room, `42${JSON.stringify(["msg", { id, room, body }])}`);
      if (ackId) ws.send(`43${ackId}${JSON.stringify([id])}`);
    }
  },
});

const port = Number(process.env.PORT ?? 0);
let listenSocket: uWS.us_listen_socket | undefined;
app.listen(process.env.HOST ?? "127.0.0.1", port, (token) => {
  if (!token) {
    console.error("uws-server: could not listen");
    process.exit(1);
  }
  listenSocket = token;
  process.send?.({ t: "listening", port: uWS.us_socket_local_port(token) });
});
serveGcRequests();

const shutdown = () => {
  if (listenSocket) uWS.us_listen_socket_close(listenSocket);
  process.exit(0);
};
process.on("SIGTERM", shutdown);
process.on("disconnect", shutdown);
