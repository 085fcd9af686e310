/**
 * The light Socket.IO client: a plain `ws` socket speaking Engine.IO v4 / Socket.IO v5 over the
 * websocket transport, with the least parsing that still does the job — the same shape as the
 * light Parley client, so both servers are driven by equally cheap clients.
 *
 * - Handshake: `GET /socket.io/?EIO=4&transport=websocket`; the server's OPEN packet (`0{…}`) is
 *   answered by a CONNECT to the main namespace with the handshake auth (`40{"user":…}`), and
 *   the server's `40{…}` completes it (`44{…}` is a refusal).
 * - Heartbeat: the server pings (`2`), the client pongs (`3`), as Engine.IO v4 requires.
 * - Events: only `42["msg",{…,"body":"…"}]` is looked at; the body (a bench payload, which has
 *   no quotes by construction) is cut out by index, without JSON.parse. Acks (`43<id>[…]`) to the
 *   client's own emits are matched by id.
 * socket.io-client would parse every packet into objects, run its event emitter and its
 * reconnection manager per socket — that is the "sdk" profile (--client=sdk).
 */
import WebSocket from "ws";
import type { Conn, ConnectOptions, Driver } from "../lib/driver.js";
import type { ClientSpec } from "../lib/protocol.js";

const CONNECT_TIMEOUT_MS = 20_000;
const ACK_TIMEOUT_MS = 10_000;
const BODY_MARK = '"body":"';

export function socketIoUrl(base: string): string {
  const u = new URL(base);
  u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
  u.pathname = "/socket.io/";
  u.search = "?EIO=4&transport=websocket";
  return u.toString();
}

/** The body of a `42["msg",{…,"body":"…"}]` packet, cut out by index (bench bodies have no quotes); undefined for anything else. */
export function cutMsgBody(packet: string): string | undefined {
  if (!packet.startsWith('42["msg"')) return undefined;
  const at = packet.indexOf(BODY_MARK);
  if (at < 0) return undefined;
  const from = at + BODY_MARK.length;
  const end = packet.indexOf('"', from);
  return end < 0 ? undefined : packet.slice(from, end);
}

/** A light Socket.IO connection: connect, emit with ack, receive `msg` bodies. */
export class LightSocketIo {
  private readonly ws: WebSocket;
  private nextAck = 0;
  private readonly acks = new Map<number, { resolve: () => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private closing = false;
  readonly ready: Promise<void>;

  constructor(url: string, user: string, localAddress: string | undefined, onBody: (body: string) => void, onDrop: () => void) {
    this.ws = new WebSocket(socketIoUrl(url), { localAddress, perMessageDeflate: false });
    let connected = false;
    this.ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error(`socket.io connect: no answer within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
      let settled = false;
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.closing = true;
        this.ws.terminate();
        reject(err);
      };
      this.ws.on("message", (data: Buffer, isBinary: boolean) => {
        if (isBinary) return;
        const s = data.toString("utf8");
        const type = s.charCodeAt(0);
        if (type === 0x32 /* 2 ping */) return void this.ws.send("3");
        if (type !== 0x34 /* 4 message */) {
          if (type === 0x30 /* 0 open */) this.ws.send(`40${JSON.stringify({ user })}`);
          return;
        }
        const packet = s.charCodeAt(1);
        if (packet === 0x32 /* 2 event */) {
          const body = cutMsgBody(s);
          if (body !== undefined) onBody(body);
        } else if (packet === 0x33 /* 3 ack */) {
          const id = Number.parseInt(s.slice(2), 10);
          const waiter = this.acks.get(id);
          if (!waiter) return;
          this.acks.delete(id);
          clearTimeout(waiter.timer);
          waiter.resolve();
        } else if (packet === 0x30 /* 0 connect */ && !connected) {
          connected = true;
          settled = true;
          clearTimeout(timer);
          resolve();
        } else if (packet === 0x34 /* 4 connect error */) fail(new Error(`socket.io connect refused: ${s.slice(2, 200)}`));
      });
      this.ws.on("error", (err) => fail(err));
      this.ws.on("close", (code) => {
        for (const w of this.acks.values()) {
          clearTimeout(w.timer);
          w.reject(new Error(`socket closed (${code})`));
        }
        this.acks.clear();
        if (!connected) fail(new Error(`socket.io closed before connect: ${code}`));
        else if (!this.closing) onDrop();
      });
    });
  }

  /** Emits `event` with `arg` and resolves on the server's ack. */
  emitWithAck(event: string, arg: unknown): Promise<void> {
    const id = this.nextAck++;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.acks.delete(id);
        reject(new Error(`socket.io ${event}: no ack within ${ACK_TIMEOUT_MS} ms`));
      }, ACK_TIMEOUT_MS);
      this.acks.set(id, { resolve, reject, timer });
      this.ws.send(`42${id}${JSON.stringify([event, arg])}`);
    });
  }

  close(): void {
    this.closing = true;
    this.ws.close(1000);
  }
}

export const lightSocketIoDriver: Driver = {
  async connect(spec: ClientSpec, opts: ConnectOptions): Promise<Conn> {
    const s = new LightSocketIo(spec.url, spec.userId, opts.localAddress, (body) => opts.onMessage("", body), opts.onDrop);
    await s.ready;
    if (spec.rooms.length > 0) await s.emitWithAck("join", spec.rooms);
    return {
      spec,
      send: (room, body) => s.emitWithAck("send", { room, body }),
      close: () => s.close(),
    };
  },
};
