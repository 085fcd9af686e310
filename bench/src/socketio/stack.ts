/**
 * Starts a baseline spoken to with the Socket.IO protocol: one Socket.IO server with the
 * in-memory adapter ("socketio"), N Socket.IO processes sharing one Redis adapter channel
 * ("socketio-redis"), or the raw uWebSockets.js pub/sub floor ("uws", uws-server.ts).
 */
import { randomUUID } from "node:crypto";
import { forkTs, gcRss, type Child } from "../lib/proc.js";
import type { BenchTarget, BenchUser, GroupHandle } from "../lib/target.js";
import { LightSocketIo } from "../light/socketio.js";

type ServerMsg = { t: "listening"; port: number } | { t: "rss"; bytes: number };
const isListening = (m: ServerMsg): m is Extract<ServerMsg, { t: "listening" }> => m.t === "listening";

export async function startSocketIo(opts: { instances: number; redisUrl: string; adapter: "redis" | "none" | "uws" }): Promise<BenchTarget> {
  const key = `bench-sio-${randomUUID().slice(0, 8)}`;
  const servers: Array<Child<ServerMsg>> = [];
  const ports: number[] = [];
  const instances = opts.adapter === "redis" ? opts.instances : 1;
  for (let i = 0; i < instances; i++) {
    const child = forkTs<ServerMsg>(
      new URL(opts.adapter === "uws" ? "../uws-server.ts" : "../socketio-server.ts", import.meta.url),
      { PORT: "0", REDIS_URL: opts.redisUrl, SIO_KEY: key, SIO_ADAPTER: opts.adapter },
      [],
      ["--expose-gc"],
    );
    servers.push(child);
    ports.push((await child.next(isListening, 30_000, "socket.io server start")).port);
  }
  const edgeUrls = ports.map((p) => `http://127.0.0.1:${p}`);
  let nextUser = 0;
  // Group senders connect to the last instance so, with the adapter, fan-out crosses Redis.
  // They are light clients in the runner process (whose CPU is reported with the generators').
  const senders: LightSocketIo[] = [];

  return {
    name: opts.adapter === "uws" ? "uws" : opts.adapter === "none" ? "socketio" : "socketio-redis",
    driver: "socketio",
    apiUrl: "",
    edgeUrls,
    edgePids: servers.map((s) => s.pid),
    servers: servers.map((s, i) => ({ pid: s.pid, role: opts.adapter === "uws" ? "uws" : `sio${i + 1}` })),
    backends: opts.adapter === "redis" ? ["redis"] : [],
    async gcRss(pid) {
      const child = servers.find((s) => s.pid === pid);
      if (!child) throw new Error(`no server with pid ${pid}`);
      return gcRss(child);
    },
    async users(n: number): Promise<BenchUser[]> {
      return Array.from({ length: n }, () => ({ userId: `u${nextUser++}`, token: "" }));
    },
    async group(): Promise<GroupHandle> {
      const room = `g-${randomUUID()}`;
      const sender = new LightSocketIo(edgeUrls[edgeUrls.length - 1] ?? "", `sender-${room}`, undefined, () => undefined, () => undefined);
      senders.push(sender);
      await sender.ready;
      return {
        room,
        send: (body) => sender.emitWithAck("send", { room, body }),
      };
    },
    async directs(pairs) {
      return pairs.map(([a, b]) => `d-${a.userId}-${b.userId}`);
    },
    async stop() {
      for (const s of senders) s.close();
      await Promise.all(servers.map((s) => s.stop()));
    },
  };
}
