/**
 * The Socket.IO baseline: a minimal chat server, one room per conversation, run as two (or more)
 * instances joined by @socket.io/redis-adapter, as a Socket.IO chat would be scaled out.
 * To keep it minimal (and in its favour), nothing is persisted and nothing is kept for a
 * disconnected client: a message is a room broadcast and nothing more.
 *
 * Env: PORT (0 = any), REDIS_URL, SIO_KEY (adapter channel prefix, unique per run), HOST,
 * SIO_ADAPTER ("redis", the default, or "none": a single server with the in-memory adapter).
 * Sends { t: "listening", port } over IPC when ready.
 */
import { createServer } from "node:http";
import { createAdapter } from "@socket.io/redis-adapter";
import { Redis } from "ioredis";
import { Server } from "socket.io";
import { serveGcRequests } from "./lib/proc.js";

interface SendRequest {
  room: string;
  body: string;
}

const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const useRedis = process.env.SIO_ADAPTER !== "none";
const pub = useRedis ? new Redis(redisUrl, { lazyConnect: false }) : undefined;
const sub = pub?.duplicate();
const httpServer = createServer();
const io = new Server(httpServer, {
  transports: ["websocket"],
  serveClient: false,
  // Parley's edge does not compress either; compression would only change the CPU bill.
  perMessageDeflate: false,
  ...(pub && sub ? { adapter: createAdapter(pub, sub, { key: process.env.SIO_KEY ?? "bench-sio" }) } : {}),
});

let nextId = 0;
const nodeTag = `${process.pid}`;

io.use((socket, next) => {
  const user: unknown = socket.handshake.auth.user;
  if (typeof user !== "string" || user === "") return next(new Error("auth.user is required"));
  socket.data.user = user;
  next();
});

io.on("connection", (socket) => {
  // A per-user room, as a real app would have for direct notifications.
  void socket.join(`u:${String(socket.data.user)}`);
  socket.on("join", (rooms: unknown, ack: unknown) => {
    if (Array.isArray(rooms)) void socket.join(rooms.filter((r): r is string => typeof r === "string"));
    if (typeof ack === "function") ack(true);
  });
  socket.on("send", (req: SendRequest, ack: unknown) => {
    const id = `${nodeTag}-${nextId++}`;
    // Every member socket on every instance, the sender's own included (Parley does the same).
    io.to(req.room).emit("msg", { id, room: req.room, body: req.body });
    if (typeof ack === "function") ack(id);
  });
});

const port = Number(process.env.PORT ?? 0);
httpServer.listen(port, process.env.HOST ?? "127.0.0.1", () => {
  const addr = httpServer.address();
  const actual = typeof addr === "object" && addr ? addr.port : port;
  process.send?.({ t: "listening", port: actual });
});
serveGcRequests();

// The server runs until the runner stops it (or its IPC channel closes when the runner dies).
const shutdown = () => {
  io.close();
  pub?.disconnect();
  sub?.disconnect();
  process.exit(0);
};
process.on("SIGTERM", shutdown);
process.on("disconnect", shutdown);
