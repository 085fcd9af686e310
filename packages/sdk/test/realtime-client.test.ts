/**
 * RealtimeClient against a scripted in-memory WebSocket: what it sends (Hello
 * with cursors, batched acks), how it orders and dedupes what it receives, and
 * what it does on close (reconnect, stop on a refused token, `synced` saying
 * whether it was a reconnect). The real edge is exercised in services/realtime.
 */
import { create, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { MessageSchema, type Message } from "@parley/gen/parley/chat/v1/message_pb";
import {
  ClientFrameSchema,
  ConversationChange,
  ServerFrameSchema,
  type ClientFrame,
} from "@parley/gen/parley/realtime/v1/frames_pb";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { RealtimeClient, type GapInfo, type RealtimeClientOptions, type RealtimeError, type SyncedInfo } from "../src/realtime/index.js";

class FakeSocket {
  static all: FakeSocket[] = [];
  binaryType = "blob";
  readyState = 0;
  protocol = "parley.v1.proto";
  sent: ClientFrame[] = [];
  closedWith: { code?: number; reason?: string } | undefined;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;

  readonly protocols: string[];

  constructor(
    readonly url: string,
    protocols?: string | string[],
  ) {
    this.protocols = protocols === undefined ? [] : typeof protocols === "string" ? [protocols] : protocols;
    FakeSocket.all.push(this);
    this.readyState = 1;
  }

  send(data: string | Uint8Array): void {
    if (typeof data === "string") throw new Error("expected binary frames");
    this.sent.push(fromBinary(ClientFrameSchema, data));
  }

  close(code?: number, reason?: string): void {
    this.closedWith = { code, reason };
    this.serverClose(code ?? 1000, reason ?? "");
  }

  /** The server sends one frame. */
  push(init: MessageInitShape<typeof ServerFrameSchema>): void {
    const bytes = toBinary(ServerFrameSchema, create(ServerFrameSchema, init));
    this.onmessage?.({ data: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) });
  }

  serverClose(code: number, reason: string): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }

  kinds(): Array<string | undefined> {
    return this.sent.map((f) => f.kind.case);
  }
}

const last = (): FakeSocket => FakeSocket.all.at(-1)!;
const msg = (seq: number, conversationId = "c1"): Message =>
  create(MessageSchema, { id: `${conversationId}-${seq}`, conversationId, seq: BigInt(seq), text: `#${seq}` });

describe("RealtimeClient", () => {
  let client: RealtimeClient | undefined;
  let token: string;
  let received: Message[];
  let syncs: SyncedInfo[];
  let errors: RealtimeError[];
  let gaps: GapInfo[];

  function start(opts: Partial<RealtimeClientOptions> = {}): RealtimeClient {
    const c = new RealtimeClient({
      url: "ws://edge/ws",
      getAccessToken: async () => token,
      WebSocket: FakeSocket,
      ackIntervalMs: 50,
      gapHoldMs: 1_000,
      backoff: { baseMs: 10, capMs: 10 },
      ...opts,
    });
    c.on("message", (m) => received.push(m));
    c.on("synced", (s) => syncs.push(s));
    c.on("error", (e) => errors.push(e));
    c.on("gap", (g) => gaps.push(g));
    client = c;
    return c;
  }

  /** Lets the client open its socket, then plays Welcome. */
  async function welcomed(): Promise<FakeSocket> {
    await vi.advanceTimersByTimeAsync(20);
    const ws = last();
    ws.push({ kind: { case: "welcome", value: { userId: "u", nodeId: "n1" } } });
    return ws;
  }

  beforeEach(() => {
    vi.useFakeTimers();
    FakeSocket.all = [];
    token = "token-1";
    received = [];
    syncs = [];
    errors = [];
    gaps = [];
  });
  afterEach(() => {
    client?.close();
    client = undefined;
    vi.useRealTimers();
  });

  it("offers the subprotocols with the token and says Hello with its cursors after Welcome", async () => {
    start({ cursors: { c1: 4n, c2: 0n }, deviceId: "dev" });
    const ws = await welcomed();
    expect(ws.protocols).toEqual(["parley.v1.proto", "parley.auth.token-1"]);
    expect(ws.sent).toHaveLength(1);
    const hello = ws.sent[0]!.kind;
    expect(hello.case).toBe("hello");
    expect(hello.case === "hello" && hello.value).toMatchObject({ cursors: { c1: 4n, c2: 0n }, deviceId: "dev" });
    expect(client!.state).toBe("open");
  });

  it("acks every data frame in one batch, and not control frames", async () => {
    start();
    const ws = await welcomed();
    ws.push({ deliveryId: 1n, kind: { case: "message", value: msg(1) } });
    ws.push({ deliveryId: 2n, kind: { case: "notification", value: { id: "n" } } });
    ws.push({ kind: { case: "syncComplete", value: {} } });
    expect(ws.kinds()).toEqual(["hello"]);
    await vi.advanceTimersByTimeAsync(50);
    expect(ws.kinds()).toEqual(["hello", "ack"]);
    const ack = ws.sent[1]!.kind;
    expect(ack.case === "ack" && ack.value.deliveryIds).toEqual([1n, 2n]);
  });

  it("emits messages in seq order per conversation, once each, even when frames come reordered and twice", async () => {
    start({ cursors: { c1: 0n } });
    const ws = await welcomed();
    let id = 1n;
    for (const seq of [2, 1, 1, 3, 2]) ws.push({ deliveryId: id++, kind: { case: "message", value: msg(seq) } });
    expect(received.map((m) => Number(m.seq))).toEqual([1, 2, 3]);
    expect(client!.cursors()).toEqual({ c1: 3n });
    // The second 1 and the second 2 (a re-send and a resume overlap, say): dropped and counted.
    expect(client!.stats()).toEqual({ reorderHolds: 1, duplicatesDropped: 2 });
  });

  it("counts a message re-sent on a new socket (resume overlapping what it had) as a duplicate, and delivers it once", async () => {
    start({ cursors: { c1: 0n } });
    const first = await welcomed();
    first.push({ deliveryId: 1n, kind: { case: "message", value: msg(1) } });
    first.serverClose(1006, "");
    await vi.advanceTimersByTimeAsync(50);
    const second = await welcomed();
    expect(second).not.toBe(first);
    second.push({ deliveryId: 1n, kind: { case: "message", value: msg(1) } });
    second.push({ deliveryId: 2n, kind: { case: "message", value: msg(2) } });
    expect(received.map((m) => Number(m.seq))).toEqual([1, 2]);
    expect(client!.stats().duplicatesDropped).toBe(1);
  });

  it("a server Gap is reported and the stream continues after it", async () => {
    start({ cursors: { c1: 2n } });
    const ws = await welcomed();
    ws.push({ deliveryId: 1n, kind: { case: "gap", value: { conversationId: "c1", fromSeq: 2n, toSeq: 40n } } });
    await vi.advanceTimersByTimeAsync(0);
    ws.push({ deliveryId: 2n, kind: { case: "message", value: msg(41) } });
    expect(gaps).toEqual([{ conversationId: "c1", fromSeq: 2n, toSeq: 40n }]);
    expect(received.map((m) => Number(m.seq))).toEqual([41]);
  });

  it("a conversation it was added to is resumed from its last seq; one it was removed from is not resumed", async () => {
    start({ cursors: { old: 3n } });
    const ws = await welcomed();
    ws.push({ deliveryId: 1n, kind: { case: "conversation", value: { change: ConversationChange.ADDED, conversation: { id: "new", lastSeq: 9n } } } });
    ws.push({ deliveryId: 2n, kind: { case: "conversation", value: { change: ConversationChange.REMOVED, conversation: { id: "old", lastSeq: 5n } } } });
    expect(client!.cursors()).toEqual({ new: 9n });
    ws.push({ deliveryId: 3n, kind: { case: "message", value: msg(10, "new") } });
    expect(received.map((m) => m.id)).toEqual(["new-10"]);
  });

  it("`synced` says reconnect: false on the first socket and true after the socket was lost, and Hello resumes from the cursors", async () => {
    start({ cursors: { c1: 0n } });
    let ws = await welcomed();
    ws.push({ deliveryId: 1n, kind: { case: "message", value: msg(1) } });
    ws.push({ kind: { case: "syncComplete", value: {} } });
    expect(syncs).toEqual([{ reconnect: false }]);
    ws.serverClose(1006, "");
    expect(client!.state).toBe("connecting");
    ws = await welcomed();
    expect(FakeSocket.all).toHaveLength(2);
    const hello = ws.sent[0]!.kind;
    expect(hello.case === "hello" && hello.value.cursors).toEqual({ c1: 1n });
    ws.push({ kind: { case: "syncComplete", value: {} } });
    expect(syncs).toEqual([{ reconnect: false }, { reconnect: true }]);
  });

  it("subscribePresence is sent once open, replaced by the next one, re-sent after Hello on every new socket, refreshed on member changes and dropped when removed", async () => {
    start();
    const subscribes = (ws: FakeSocket) =>
      ws.sent.flatMap((f) => (f.kind.case === "presenceSubscribe" ? [f.kind.value.conversationId] : []));
    // Before Welcome: remembered, not sent (the server ignores frames before the socket is set up).
    client!.subscribePresence("g1");
    let ws = await welcomed();
    expect(ws.kinds()).toEqual(["hello", "presenceSubscribe"]);
    client!.subscribePresence("g2");
    expect(subscribes(ws)).toEqual(["g1", "g2"]);
    ws.serverClose(1006, "");
    ws = await welcomed();
    expect(ws.kinds()).toEqual(["hello", "presenceSubscribe"]);
    expect(subscribes(ws)).toEqual(["g2"]);
    // Members changed: the server's member list is stale, so subscribe again.
    ws.push({ deliveryId: 1n, kind: { case: "conversation", value: { change: ConversationChange.UPDATED, conversation: { id: "g2" } } } });
    ws.push({ deliveryId: 2n, kind: { case: "conversation", value: { change: ConversationChange.UPDATED, conversation: { id: "other" } } } });
    expect(subscribes(ws)).toEqual(["g2", "g2"]);
    ws.push({ deliveryId: 3n, kind: { case: "conversation", value: { change: ConversationChange.REMOVED, conversation: { id: "g2" } } } });
    expect(subscribes(ws)).toEqual(["g2", "g2", ""]);
    ws.serverClose(1006, "");
    ws = await welcomed();
    expect(ws.kinds()).toEqual(["hello"]);
  });

  it("a socket lost after Welcome but before SyncComplete still makes the next sync a reconnect", async () => {
    start();
    const first = await welcomed();
    first.push({ deliveryId: 1n, kind: { case: "notification", value: { id: "n" } } });
    first.serverClose(1006, "");
    const second = await welcomed();
    second.push({ kind: { case: "syncComplete", value: {} } });
    expect(syncs).toEqual([{ reconnect: true }]);
  });

  it("a socket that never got Welcome does not make the first sync a reconnect", async () => {
    start();
    await vi.advanceTimersByTimeAsync(20);
    last().serverClose(1013, "try again later");
    const ws = await welcomed();
    ws.push({ kind: { case: "syncComplete", value: {} } });
    expect(syncs).toEqual([{ reconnect: false }]);
  });

  it("4401 with no fresher token stops for good; with a fresh token it reconnects with that", async () => {
    start();
    let ws = await welcomed();
    token = "token-2";
    ws.serverClose(4401, "access token expired");
    ws = await welcomed();
    expect(ws.protocols).toContain("parley.auth.token-2");
    ws.serverClose(4401, "access token revoked");
    await vi.advanceTimersByTimeAsync(1_000);
    expect(FakeSocket.all).toHaveLength(2);
    expect(client!.state).toBe("closed");
    expect(errors).toEqual([
      { code: "unauthenticated", message: "access token expired", closeCode: 4401 },
      { code: "unauthenticated", message: "access token revoked", closeCode: 4401 },
    ]);
  });

  it("sends Reauthenticate with a fresh token before the current one expires", async () => {
    const jwt = (expSec: number) => `h.${Buffer.from(JSON.stringify({ exp: expSec })).toString("base64url")}.s`;
    const nowSec = Math.floor(Date.now() / 1000);
    token = jwt(nowSec + 10);
    start();
    await vi.advanceTimersByTimeAsync(20);
    const ws = last();
    ws.push({ kind: { case: "welcome", value: { userId: "u", tokenExpiresAt: { seconds: BigInt(nowSec + 10) } } } });
    token = jwt(nowSec + 900);
    await vi.advanceTimersByTimeAsync(4_000);
    expect(ws.kinds()).toEqual(["hello"]);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(ws.kinds()).toEqual(["hello", "reauthenticate"]);
    const reauth = ws.sent[1]!.kind;
    expect(reauth.case === "reauthenticate" && reauth.value.accessToken).toBe(token);
  });

  it("a Reconnect frame closes the socket and dials the next URL within the server's window", async () => {
    start({ url: ["ws://a/ws", "ws://b/ws"] });
    const ws = await welcomed();
    ws.push({ kind: { case: "reconnect", value: { reason: "draining", retryAfterMs: 100 } } });
    expect(ws.closedWith?.code).toBe(1000);
    await vi.advanceTimersByTimeAsync(100);
    expect(FakeSocket.all.map((s) => s.url)).toEqual(["ws://a/ws", "ws://b/ws"]);
  });
});
