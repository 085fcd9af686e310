/**
 * A client-worker process: holds a share of the simulated clients (so no process nears the
 * 20,000-fd limit), records what they receive and, for the 1-1 scenario, sends on their behalf.
 * Driven by the runner over IPC (lib/protocol.ts); exits when the runner goes away.
 */
import { mapLimit, nowMs, sleep } from "./lib/clock.js";
import type { Conn, Driver } from "./lib/driver.js";
import { decodePayload, encodePayload } from "./lib/payload.js";
import { LatencyRecorder } from "./lib/stats.js";
import type { ClientProfile, DirectPair, DriverKind, FromWorker, ToWorker } from "./lib/protocol.js";

const reply = (m: FromWorker) => process.send?.(m);

async function loadDriver(kind: DriverKind, profile: ClientProfile, apiUrl: string): Promise<Driver> {
  if (profile === "light") {
    if (kind === "socketio") return (await import("./light/socketio.js")).lightSocketIoDriver;
    return (await import("./light/parley.js")).createLightParleyDriver(apiUrl);
  }
  if (kind === "socketio") return (await import("./socketio/driver.js")).socketIoDriver;
  return (await import("./parley/driver.js")).createParleyDriver(apiUrl);
}

// Positional (undefined where a connect failed): direct pairs index into it.
let conns: Array<Conn | undefined> = [];
// key → [deliveries, last delivery time]; deliveries to the message's own sender are not counted.
let perMessage = new Map<string, [number, number]>();
const latencies = new LatencyRecorder();
let duplicates = 0;
let dropped = 0;

function onMessage(self: string, seen: Set<string>, body: string): void {
  const at = nowMs();
  const p = decodePayload(body);
  if (!p || p.f === self) return; // not a bench message, or the sender's own echo
  if (seen.has(p.k)) {
    duplicates++;
    return;
  }
  seen.add(p.k);
  latencies.record(at - p.t);
  const entry = perMessage.get(p.k);
  if (entry) {
    entry[0]++;
    entry[1] = Math.max(entry[1], at);
  } else perMessage.set(p.k, [1, at]);
}

async function connectAll(m: Extract<ToWorker, { t: "connect" }>): Promise<void> {
  const started = Date.now();
  const driver = await loadDriver(m.driver, m.profile, m.apiUrl);
  let failed = 0;
  let firstError: string | undefined;
  const opened = await mapLimit(m.clients, m.concurrency, async (spec, i) => {
    const seen = new Set<string>();
    try {
      return await driver.connect(spec, {
        localAddress: m.localAddresses[i % m.localAddresses.length] ?? "127.0.0.1",
        onMessage: (_room, body) => onMessage(spec.userId, seen, body),
        onDrop: () => dropped++,
      });
    } catch (err) {
      failed++;
      firstError ??= err instanceof Error ? err.message : String(err);
      return undefined;
    }
  });
  conns = opened;
  reply({ t: "connected", ok: opened.length - failed, failed, firstError, ms: Date.now() - started });
}

/**
 * Open loop: every pair sends at ratePerSec / pairs, on a 10 ms tick, for durationMs. Sends are
 * not awaited one by one, so a slow server shows up as latency, not as a lower offered rate.
 */
async function runDirect(m: Extract<ToWorker, { t: "direct" }>): Promise<void> {
  const sendLatencies: number[] = [];
  let sent = 0;
  let skipped = 0;
  let sendErrors = 0;
  let firstError: string | undefined;
  const inFlight = new Set<Promise<void>>();
  const tickMs = 10;
  const start = Date.now();
  let turn = 0;
  while (Date.now() - start < m.durationMs) {
    // Owed sends follow elapsed time, so timer overshoot does not lower the offered rate.
    const due = Math.floor(((Date.now() - start) * m.ratePerSec) / 1000);
    while (sent + skipped < due) {
      const pair: DirectPair | undefined = m.pairs[turn++ % m.pairs.length];
      const from = pair ? conns[pair.from] : undefined;
      // A pair whose sender never connected still uses its slot, so the loop always advances.
      if (!pair || !from) {
        skipped++;
        continue;
      }
      const t = nowMs();
      const body = encodePayload({ k: `${m.keyPrefix}${sent}`, t, f: from.spec.userId });
      sent++;
      const p = from
        .send(pair.room, body)
        .then(() => void sendLatencies.push(nowMs() - t))
        .catch((err: unknown) => {
          sendErrors++;
          firstError ??= err instanceof Error ? err.message : String(err);
        })
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
    await sleep(tickMs);
  }
  await Promise.all(inFlight);
  reply({ t: "directSent", sent, sendErrors, firstError, sendLatenciesMs: sendLatencies });
}

process.on("message", (m: ToWorker) => {
  const run = async () => {
    switch (m.t) {
      case "connect":
        return connectAll(m);
      case "direct":
        return runDirect(m);
      case "collect":
        reply({ t: "received", perMessage: [...perMessage].map(([k, [n, last]]) => [k, n, last]), latencies: latencies.drain(), duplicates, dropped });
        perMessage = new Map();
        duplicates = 0;
        return;
      case "close":
        for (const c of conns) c?.close();
        conns = [];
        reply({ t: "closed" });
        return;
    }
  };
  run().catch((err: unknown) => reply({ t: "error", message: err instanceof Error ? err.stack ?? err.message : String(err) }));
});

// Never outlive the runner.
process.on("disconnect", () => process.exit(0));
// The runner stops workers with SIGTERM: exit through process.exit so --cpu-prof (BENCH_CPU_PROF) gets written.
process.on("SIGTERM", () => process.exit(0));
