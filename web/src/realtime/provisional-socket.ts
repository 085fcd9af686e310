/**
 * Provisional realtime connection used until @parley/sdk's RealtimeClient lands: the frames.proto
 * protocol (binary subprotocol, token as "parley.auth.<jwt>", Hello with cursors, acks) with
 * reconnect and backoff. Deliberately small; the SDK's client replaces it.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  ClientFrameSchema,
  ServerFrameSchema,
  type ClientFrame,
  type ServerFrame,
} from "@parley/gen/parley/realtime/v1/frames_pb";
import type { ConnectionState, RealtimeConnection, RealtimeConnectionOptions } from "./connection";

export function openProvisionalSocket(options: RealtimeConnectionOptions): RealtimeConnection {
  let socket: WebSocket | null = null;
  let stopped = false;
  let attempt = 0;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let pendingAcks: bigint[] = [];
  let ackTimer: ReturnType<typeof setTimeout> | undefined;

  const setState = (state: ConnectionState): void => options.onState(state);

  function send(frame: ClientFrame): void {
    if (socket?.readyState === WebSocket.OPEN) socket.send(toBinary(ClientFrameSchema, frame));
  }

  function flushAcks(): void {
    ackTimer = undefined;
    if (pendingAcks.length === 0) return;
    send(create(ClientFrameSchema, { kind: { case: "ack", value: { deliveryIds: pendingAcks } } }));
    pendingAcks = [];
  }

  function scheduleReconnect(retryAfterMs?: number): void {
    if (stopped) return;
    setState("reconnecting");
    const backoff = retryAfterMs ?? Math.min(15_000, 500 * 2 ** attempt) * (0.5 + Math.random() / 2);
    attempt++;
    retryTimer = setTimeout(() => void connect(), backoff);
  }

  async function connect(): Promise<void> {
    if (stopped) return;
    const token = await options.accessToken().catch(() => undefined);
    if (!token) {
      scheduleReconnect();
      return;
    }
    const ws = new WebSocket(options.url, ["parley.v1.proto", `parley.auth.${token}`]);
    ws.binaryType = "arraybuffer";
    socket = ws;
    ws.onopen = () => {
      attempt = 0;
      send(
        create(ClientFrameSchema, {
          kind: { case: "hello", value: { cursors: options.cursors(), deviceId: options.deviceId } },
        }),
      );
      setState("open");
    };
    ws.onmessage = (event: MessageEvent<ArrayBuffer>) => {
      let frame: ServerFrame;
      try {
        frame = fromBinary(ServerFrameSchema, new Uint8Array(event.data));
      } catch {
        return;
      }
      if (frame.deliveryId > 0n) {
        pendingAcks.push(frame.deliveryId);
        ackTimer ??= setTimeout(flushAcks, 50);
      }
      if (frame.kind.case === "reconnect") {
        ws.close(1000, "reconnect requested");
        return;
      }
      options.onFrame(frame);
    };
    ws.onclose = (event) => {
      if (socket !== ws) return;
      socket = null;
      if (event.code === 4401) options.onUnauthorized?.();
      scheduleReconnect();
    };
  }

  setState("connecting");
  void connect();

  return {
    sendTyping(conversationId: string): void {
      send(create(ClientFrameSchema, { kind: { case: "typing", value: { conversationId } } }));
    },
    close(): void {
      stopped = true;
      clearTimeout(retryTimer);
      clearTimeout(ackTimer);
      socket?.close(1000, "closed by client");
      socket = null;
      setState("closed");
    },
  };
}
