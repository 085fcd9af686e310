/** Starts the Socket.IO baseline: N server processes sharing one Redis adapter channel. */
import { randomUUID } from "node:crypto";
import { io } from "socket.io-client";
import { forkTs, type Child } from "../lib/proc.js";
import type { BenchTarget, BenchUser, GroupHandle } from "../lib/target.js";

type ServerMsg = { t: "listening"; port: number };
const isListening = (m: ServerMsg): m is ServerMsg => m.t === "listening";

export async function startSocketIo(opts: { instances: number; redisUrl: string }): Promise<BenchTarget> {
  const key = `bench-sio-${randomUUID().slice(0, 8)}`;
  const servers: Array<Child<ServerMsg>> = [];
  const ports: number[] = [];
  for (let i = 0; i < opts.instances; i++) {
    const child = forkTs<ServerMsg>(new URL("../socketio-server.ts", import.meta.url), { PORT: "0", REDIS_URL: opts.redisUrl, SIO_KEY: key });
    servers.push(child);
    ports.push((await child.next(isListening, 30_000, "socket.io server start")).port);
  }
  const edgeUrls = ports.map((p) => `http://127.0.0.1:${p}`);
  let nextUser = 0;
  // Senders for groups connect to the last instance so fan-out crosses the adapter.
  const senders: Array<ReturnType<typeof io>> = [];

  return {
    name: "socketio",
    apiUrl: "",
    edgeUrls,
    edgePids: servers.map((s) => s.pid),
    async users(n: number): Promise<BenchUser[]> {
      return Array.from({ length: n }, () => ({ userId: `u${nextUser++}`, token: "" }));
    },
    async group(): Promise<GroupHandle> {
      const room = `g-${randomUUID()}`;
      const sender = io(edgeUrls[edgeUrls.length - 1] ?? "", {
        transports: ["websocket"],
        reconnection: false,
        forceNew: true,
        auth: { user: `sender-${room}` },
      });
      senders.push(sender);
      await new Promise<void>((resolve, reject) => {
        sender.once("connect", () => resolve());
        sender.once("connect_error", reject);
      });
      return {
        room,
        async send(body) {
          await sender.timeout(10_000).emitWithAck("send", { room, body });
        },
      };
    },
    async directs(pairs) {
      return pairs.map(([a, b]) => `d-${a.userId}-${b.userId}`);
    },
    async stop() {
      for (const s of senders) s.disconnect();
      await Promise.all(servers.map((s) => s.stop()));
    },
  };
}
