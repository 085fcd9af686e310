/**
 * HTTP/1.1 and cleartext HTTP/2 (h2c, prior knowledge) on one port: gRPC
 * clients speak h2c, browsers and curl HTTP/1.1, and a pod exposes one port.
 * A plain TCP server peeks at the first bytes of each connection and hands it
 * to the matching Node server; a graceful shutdown lets in-flight calls end.
 */
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import type { Logger } from "pino";
import type { AnyRequest, AnyResponse } from "./types.js";

const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
/** A connection that sends nothing is dropped before it is handed to a server. */
const SNIFF_TIMEOUT_MS = 10_000;

export interface DualProtocolServer {
  readonly server: net.Server;
  /** Stops accepting, lets in-flight requests finish for up to `graceMs`, then drops what is left. */
  shutdown(graceMs: number): Promise<void>;
}

export function createDualProtocolServer(handler: (req: AnyRequest, res: AnyResponse) => void, logger: Logger): DualProtocolServer {
  let closing = false;
  /** HTTP/1 sockets -> requests in flight on them (keep-alive sockets idle at 0). */
  const h1Sockets = new Map<net.Socket, number>();
  const sessions = new Set<http2.ServerHttp2Session>();
  /** Every open connection and what it turned out to speak. */
  const sockets = new Map<net.Socket, "sniffing" | "h1" | "h2">();

  const h1 = http.createServer((req, res) => {
    const socket = req.socket;
    h1Sockets.set(socket, (h1Sockets.get(socket) ?? 0) + 1);
    // Tell keep-alive clients to reconnect (elsewhere) once we are draining.
    if (closing) res.setHeader("connection", "close");
    res.once("close", () => {
      const left = (h1Sockets.get(socket) ?? 1) - 1;
      h1Sockets.set(socket, left);
      if (closing && left === 0) socket.end();
    });
    handler(req, res);
  });
  const h2 = http2.createServer({}, handler);
  h2.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
    if (closing) session.close();
  });

  const handOff = (socket: net.Socket, head: Buffer, isH2: boolean): void => {
    socket.pause();
    socket.unshift(head);
    sockets.set(socket, isH2 ? "h2" : "h1");
    if (isH2) {
      // The session feeds itself what is buffered (on next tick); resuming here would
      // flush those bytes as "data" events to nobody and the session would miss the preface.
      h2.emit("connection", socket);
    } else {
      h1Sockets.set(socket, 0);
      // The HTTP/1 parser reads through "data" events; the socket is still paused.
      h1.emit("connection", socket);
      socket.resume();
    }
  };

  const server = net.createServer({ pauseOnConnect: true }, (socket) => {
    sockets.set(socket, "sniffing");
    socket.once("close", () => {
      sockets.delete(socket);
      h1Sockets.delete(socket);
    });
    if (closing) {
      socket.destroy();
      return;
    }
    let head = Buffer.alloc(0);
    const onError = (err: Error) => logger.debug({ err }, "connection failed before its first request");
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const n = Math.min(head.length, H2_PREFACE.length);
      const looksH2 = head.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
      if (looksH2 && head.length < H2_PREFACE.length) return; // the preface arrived in pieces
      socket.off("data", onData);
      socket.off("error", onError);
      socket.setTimeout(0);
      handOff(socket, head, looksH2);
    };
    socket.on("data", onData);
    socket.on("error", onError);
    socket.setTimeout(SNIFF_TIMEOUT_MS, () => socket.destroy());
    socket.resume();
  });

  return {
    server,
    async shutdown(graceMs) {
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const session of sessions) session.close(); // GOAWAY: no new streams, open ones finish
      for (const [socket, kind] of sockets) {
        // Idle keep-alive sockets and sockets still being sniffed carry no work.
        if (kind === "sniffing" || (kind === "h1" && h1Sockets.get(socket) === 0)) socket.destroy();
      }
      const force = setTimeout(() => {
        if (sockets.size > 0) logger.warn({ connections: sockets.size }, "grace period over, dropping connections");
        for (const socket of sockets.keys()) socket.destroy();
      }, graceMs);
      force.unref();
      await closed;
      clearTimeout(force);
    },
  };
}
