/**
 * The light Parley client: a plain `ws` socket speaking the realtime protocol
 * (proto/parley/realtime/v1/frames.proto) with the least work a correct client can do, so the
 * load generator is not what the bench measures.
 *
 * - Handshake as the SDK does it: subprotocols `parley.v1.proto` + `parley.auth.<jwt>`; the
 *   server sends Welcome, the client answers Hello (no cursors: a fresh client), and only then
 *   does the server deliver.
 * - Minimal decode: each ServerFrame is walked with protobuf-es's BinaryReader for
 *   delivery_id (field 1) and, inside `message` (field 3), only `text` (field 5 of
 *   chat.v1.Message); every other field is skipped unread. Other frame kinds are acked and
 *   otherwise ignored (the first Welcome resolves the connect).
 * - Batched acks: Ack carries a list of delivery ids (the protocol has no cumulative ack), so
 *   ids are collected and sent in one Ack frame per socket every ACK_INTERVAL_MS, or at once
 *   when ACK_MAX_IDS are pending — the server's unacked window is never approached.
 * - Dedupe is the worker's (by payload key), so lost/duplicate counts are after client dedupe.
 * - Sends go over plain HTTP/1.1 keep-alive with the Connect JSON protocol (light/http.ts).
 */
import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { randomUUID } from "node:crypto";
import WebSocket from "ws";
import type { Conn, ConnectOptions, Driver } from "../lib/driver.js";
import type { ClientSpec } from "../lib/protocol.js";
import { connectPost } from "./http.js";

const SUBPROTOCOL = "parley.v1.proto";
const AUTH_PREFIX = "parley.auth.";
const OPEN_TIMEOUT_MS = 30_000;
export const ACK_INTERVAL_MS = 50;
export const ACK_MAX_IDS = 256;

// Field numbers (frames.proto, message.proto).
const SERVER_FRAME_DELIVERY_ID = 1;
const SERVER_FRAME_WELCOME = 2;
const SERVER_FRAME_MESSAGE = 3;
const SERVER_FRAME_ERROR = 14;
const MESSAGE_TEXT = 5;
const CLIENT_FRAME_HELLO = 1;
const CLIENT_FRAME_ACK = 2;
const HELLO_DEVICE_ID = 2;
const ACK_DELIVERY_IDS = 1;
const ERROR_MESSAGE = 2;

interface Decoded {
  deliveryId: bigint;
  kind: "welcome" | "message" | "error" | "other";
  /** Message text (message frames) or error message (error frames). */
  text: string | undefined;
}

const utf8 = new TextDecoder();

export function decodeFrame(bytes: Uint8Array): Decoded {
  const r = new BinaryReader(bytes);
  const out: Decoded = { deliveryId: 0n, kind: "other", text: undefined };
  while (r.pos < r.len) {
    const [field, wire] = r.tag();
    if (field === SERVER_FRAME_DELIVERY_ID && wire === WireType.Varint) out.deliveryId = BigInt(r.uint64());
    else if (field === SERVER_FRAME_MESSAGE && wire === WireType.LengthDelimited) {
      out.kind = "message";
      out.text = readStringField(r.bytes(), MESSAGE_TEXT);
    } else if (field === SERVER_FRAME_WELCOME) {
      out.kind = "welcome";
      r.skip(wire);
    } else if (field === SERVER_FRAME_ERROR && wire === WireType.LengthDelimited) {
      out.kind = "error";
      out.text = readStringField(r.bytes(), ERROR_MESSAGE);
    } else r.skip(wire);
  }
  return out;
}

/** One string field of a nested message; the rest is skipped without decoding. */
function readStringField(bytes: Uint8Array, wanted: number): string | undefined {
  const r = new BinaryReader(bytes);
  while (r.pos < r.len) {
    const [field, wire] = r.tag();
    if (field === wanted && wire === WireType.LengthDelimited) return utf8.decode(r.bytes());
    r.skip(wire);
  }
  return undefined;
}

function helloFrame(deviceId: string): Uint8Array {
  const w = new BinaryWriter();
  w.tag(CLIENT_FRAME_HELLO, WireType.LengthDelimited).fork();
  w.tag(HELLO_DEVICE_ID, WireType.LengthDelimited).string(deviceId);
  w.join();
  return w.finish();
}

export function ackFrame(ids: readonly bigint[]): Uint8Array {
  const w = new BinaryWriter();
  w.tag(CLIENT_FRAME_ACK, WireType.LengthDelimited).fork();
  w.tag(ACK_DELIVERY_IDS, WireType.LengthDelimited).fork();
  for (const id of ids) w.uint64(id);
  w.join().join();
  return w.finish();
}

export function createLightParleyDriver(apiUrl: string): Driver {
  return {
    async connect(spec: ClientSpec, opts: ConnectOptions): Promise<Conn> {
      const ws = new WebSocket(spec.url, [SUBPROTOCOL, AUTH_PREFIX + spec.token], {
        localAddress: opts.localAddress,
        perMessageDeflate: false,
      });
      ws.binaryType = "nodebuffer";
      let pending: bigint[] = [];
      let ackTimer: NodeJS.Timeout | undefined;
      const flush = () => {
        if (ackTimer) clearTimeout(ackTimer);
        ackTimer = undefined;
        if (pending.length === 0 || ws.readyState !== WebSocket.OPEN) return;
        const ids = pending;
        pending = [];
        ws.send(ackFrame(ids));
      };
      let closing = false;
      let welcomed = false;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => fail(new Error(`no welcome within ${OPEN_TIMEOUT_MS} ms`)), OPEN_TIMEOUT_MS);
        let settled = false;
        const fail = (err: Error) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          closing = true;
          ws.terminate();
          reject(err);
        };
        ws.on("message", (data: Buffer) => {
          const f = decodeFrame(data);
          if (f.deliveryId > 0n) {
            pending.push(f.deliveryId);
            if (pending.length >= ACK_MAX_IDS) flush();
            else ackTimer ??= setTimeout(flush, ACK_INTERVAL_MS);
          }
          if (f.kind === "message" && f.text !== undefined) opts.onMessage("", f.text);
          else if (f.kind === "welcome" && !welcomed) {
            welcomed = true;
            settled = true;
            clearTimeout(timer);
            ws.send(helloFrame(`bench-light-${spec.userId.slice(0, 8)}`));
            resolve();
          }
        });
        ws.on("unexpected-response", (_req, res) => fail(new Error(`upgrade refused: HTTP ${res.statusCode}`)));
        ws.on("error", (err) => {
          if (!welcomed) fail(err);
        });
        ws.on("close", (code, reason) => {
          if (ackTimer) clearTimeout(ackTimer);
          if (!welcomed) fail(new Error(`closed before welcome: ${code} ${reason.toString()}`));
          else if (!closing) opts.onDrop();
        });
      });
      return {
        spec,
        async send(room, body) {
          await connectPost(apiUrl, "parley.chat.v1.MessageService/SendMessage", spec.token, opts.localAddress, {
            conversationId: room,
            clientMessageId: randomUUID(),
            text: body,
          });
        },
        close() {
          closing = true;
          flush();
          ws.close(1000, "bench done");
        },
      };
    },
  };
}
