/**
 * Item 15a, stress: a socket the server closes (a refused handshake: bad token
 * or over the per-user cap, or a frame over the hard limit) must not take the
 * socket opened right after by another client with it. Every round opens
 * a fresh socket immediately after the closing one and requires Welcome; what
 * the client saw otherwise (close code, `ws` error, unexpected-response, TCP
 * FIN/reset) is collected so a failure says why.
 *
 * The drop this guards against (uWS closing a WebSocket upgraded inside
 * `res.cork`, see onUpgrade and README "Concurrency model") depends on the heap layout: on
 * the old code it hit about one socket in 3,000, so one run of this file
 * (300 new sockets, each right after a server-side close) catches it only
 * sometimes; a failure here is never flakiness to retry away.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { ServerFrameSchema } from "@parley/gen/parley/realtime/v1/frames_pb";
import { NodeWebSocket } from "@parley/sdk/node";
import { AUTH_SUBPROTOCOL_PREFIX } from "@parley/sdk/realtime/codec";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEdgeHarness, type Account, type EdgeHarness } from "./harness.js";

const ROUNDS = 100;

interface Probe {
  ws: InstanceType<typeof NodeWebSocket>;
  /** "welcome", or how the socket ended before Welcome. */
  outcome: Promise<string>;
  closed: Promise<number>;
}

function probe(url: string, token: string): Probe {
  const ws = new NodeWebSocket(url, ["parley.v1.proto", AUTH_SUBPROTOCOL_PREFIX + token]);
  ws.binaryType = "arraybuffer";
  const events: string[] = [];
  const closed = new Promise<number>((resolve) => ws.on("close", (code) => resolve(code)));
  const outcome = new Promise<string>((resolve) => {
    ws.on("message", (data: ArrayBuffer, isBinary: boolean) => {
      if (!isBinary) return;
      const frame = fromBinary(ServerFrameSchema, new Uint8Array(data));
      if (frame.kind.case === "welcome") resolve("welcome");
      else events.push(`frame ${frame.kind.case}`);
    });
    ws.on("upgrade", (res) => {
      events.push(`upgrade ${res.statusCode}`);
      // FIN from the server vs a reset: `ws` itself reports both as 1006 without an error event.
      res.socket.on("end", () => events.push("tcp fin"));
      res.socket.on("error", (err: NodeJS.ErrnoException) => events.push(`tcp error ${err.code}`));
    });
    ws.on("open", () => events.push(`open ${ws.protocol}`));
    ws.on("unexpected-response", (_req, res) => {
      events.push(`unexpected-response ${res.statusCode}`);
      ws.terminate();
    });
    ws.on("error", (err) => events.push(`error ${err.message}`));
    ws.on("close", (code, reason) => resolve(`closed ${code} ${reason.toString()} [${events.join("; ")}]`));
  });
  return { ws, outcome, closed };
}

async function outcomeOf(p: Probe, timeoutMs = 5_000): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => (timer = setTimeout(() => resolve("no Welcome in time"), timeoutMs)));
  try {
    return await Promise.race([p.outcome, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe("a socket the server closes", () => {
  let h: EdgeHarness;
  let url: string;
  let capped: string;
  let alice: Account;
  let mallory: Account;
  beforeAll(async () => {
    h = await startEdgeHarness();
    url = h.wsUrl(await h.startNode("cto-a"));
    capped = h.wsUrl(await h.startNode("cto-cap", { maxSocketsPerUser: 1 }));
    [alice, mallory] = [await h.account("alice"), await h.account("mallory")];
  }, 60_000);
  afterAll(async () => h?.close());

  /** ROUNDS times: `closing` opens a socket the server closes, then alice's socket must get Welcome. */
  async function rounds(target: string, closing: (round: number) => Promise<Probe>): Promise<string[]> {
    const failures: string[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const bad = await closing(i);
      const good = probe(target, alice.accessToken);
      const outcome = await outcomeOf(good);
      if (outcome !== "welcome") failures.push(`round ${i}: ${outcome}`);
      good.ws.close();
      await Promise.all([good.closed, bad.closed]);
    }
    return failures;
  }

  it(`refused with a bad token (4401): ${ROUNDS} times the next socket gets Welcome`, async () => {
    const failures = await rounds(url, async () => probe(url, "not-a-token"));
    expect(failures).toEqual([]);
  }, 180_000);

  it(`refused over the socket cap (4429): ${ROUNDS} times the next socket gets Welcome`, async () => {
    const held = probe(capped, mallory.accessToken);
    expect(await outcomeOf(held)).toBe("welcome");
    const failures = await rounds(capped, async () => probe(capped, mallory.accessToken));
    expect(failures).toEqual([]);
    held.ws.close();
    await held.closed;
  }, 180_000);

  it(`closed for a frame over the hard limit: ${ROUNDS} times the next socket gets Welcome`, async () => {
    const early: string[] = [];
    const failures = await rounds(url, async (i) => {
      const bad = probe(url, mallory.accessToken);
      const seen = await outcomeOf(bad);
      // The closing socket is a new socket right after the previous round's close too: it must get Welcome as well.
      if (seen !== "welcome") early.push(`round ${i}, the socket to be dropped: ${seen}`);
      bad.ws.send(new Uint8Array(1024 * 1024 + 1));
      return bad;
    });
    expect([...early, ...failures]).toEqual([]);
  }, 180_000);
});
