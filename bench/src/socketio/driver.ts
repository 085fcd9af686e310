/** Socket.IO client side of the bench: one socket per simulated user, websocket transport only. */
import { io } from "socket.io-client";
import type { Conn, ConnectOptions, Driver } from "../lib/driver.js";
import type { ClientSpec } from "../lib/protocol.js";

interface Delivered {
  id: string;
  room: string;
  body: string;
}

const CONNECT_TIMEOUT_MS = 20_000;

export const socketIoDriver: Driver = {
  async connect(spec: ClientSpec, opts: ConnectOptions): Promise<Conn> {
    const socket = io(spec.url, {
      transports: ["websocket"],
      // A bench socket that drops is counted, not silently replaced.
      reconnection: false,
      forceNew: true,
      timeout: CONNECT_TIMEOUT_MS,
      auth: { user: spec.userId },
      // Passed through engine.io-client to ws: spreads the client side over 127.0.0.x so one
      // source address never runs out of ephemeral ports.
      localAddress: opts.localAddress,
    } as Parameters<typeof io>[1]);
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", () => resolve());
      socket.once("connect_error", (err: Error) => reject(err));
    });
    let closing = false;
    socket.on("disconnect", () => {
      if (!closing) opts.onDrop();
    });
    socket.on("msg", (m: Delivered) => opts.onMessage(m.room, m.body));
    if (spec.rooms.length > 0) await socket.timeout(CONNECT_TIMEOUT_MS).emitWithAck("join", spec.rooms);
    return {
      spec,
      async send(room, body) {
        await socket.timeout(10_000).emitWithAck("send", { room, body });
      },
      close() {
        closing = true;
        socket.disconnect();
      },
    };
  },
};
