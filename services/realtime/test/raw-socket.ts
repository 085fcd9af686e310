/** A bare WebSocket speaking the frames protocol by hand, for what the SDK would never send. */
import { create, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { ClientFrameSchema, ServerFrameSchema, type ServerFrame } from "@parley/gen/parley/realtime/v1/frames_pb";
import { NodeWebSocket } from "@parley/sdk/node";

export interface RawSocket {
  frames: ServerFrame[];
  closed: Promise<{ code: number; reason: string }>;
  opened: Promise<void>;
  send(init: MessageInitShape<typeof ClientFrameSchema>): void;
  sendBytes(data: Uint8Array | string): void;
  close(): void;
}

export function rawSocket(url: string, protocols: string[]): RawSocket {
  const ws = new NodeWebSocket(url, protocols);
  const frames: ServerFrame[] = [];
  ws.binaryType = "arraybuffer";
  ws.on("message", (data: ArrayBuffer | Buffer, isBinary: boolean) => {
    if (isBinary) frames.push(fromBinary(ServerFrameSchema, new Uint8Array(data as ArrayBuffer)));
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on("close", (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() }));
    ws.on("error", () => undefined);
  });
  const opened = new Promise<void>((resolve, reject) => {
    ws.on("open", () => resolve());
    ws.on("unexpected-response", () => reject(new Error("upgrade refused")));
  });
  return {
    frames,
    closed,
    opened,
    send: (init) => ws.send(toBinary(ClientFrameSchema, create(ClientFrameSchema, init))),
    sendBytes: (data) => ws.send(data),
    close: () => ws.close(),
  };
}
