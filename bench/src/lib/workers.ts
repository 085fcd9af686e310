/** A pool of client-worker processes sharing one scenario's clients. */
import { forkTs, type Child } from "./proc.js";
import { isMsg, type ClientProfile, type ClientSpec, type DriverKind, type FromWorker, type ToWorker } from "./protocol.js";

export interface ConnectResult {
  ok: number;
  failed: number;
  firstError: string | undefined;
  ms: number;
}

export interface Received {
  perMessage: Map<string, { deliveries: number; last: number }>;
  /** Encoded histograms (stats.ts LatencyRecorder), one per worker per collect. */
  latencies: string[];
  duplicates: number;
  dropped: number;
}

export class WorkerPool {
  readonly workers: Array<Child<FromWorker>>;
  /** Clients given to each worker, in the order the worker indexes them. */
  readonly shares: ClientSpec[][];

  private constructor(workers: Array<Child<FromWorker>>, shares: ClientSpec[][]) {
    this.workers = workers;
    this.shares = shares;
  }

  /**
   * Splits `clients` into contiguous shares of about `perWorker` (at least `minWorkers`
   * workers); share sizes are multiples of `align` so a pair never straddles two workers.
   */
  static start(clients: ClientSpec[], perWorker: number, minWorkers = 1, align = 1): WorkerPool {
    const count = Math.max(minWorkers, Math.ceil(clients.length / perWorker));
    const size = Math.ceil(clients.length / count / align) * align;
    const shares = Array.from({ length: count }, (_, i) => clients.slice(i * size, (i + 1) * size));
    const workers = shares.map(() => forkTs<FromWorker>(new URL("../worker.ts", import.meta.url), {}));
    for (const w of workers) {
      w.proc.on("message", (m: FromWorker) => {
        if (m.t === "error") console.error(`[bench worker ${w.pid}] ${m.message}`);
      });
    }
    return new WorkerPool(workers, shares);
  }

  send(i: number, m: ToWorker): void {
    this.workers[i]?.send(m);
  }

  /** The load generators of a measured window: this runner (it sends fan-out) and every worker. */
  generators(): Array<{ pid: number; role: string }> {
    return [{ pid: process.pid, role: "runner" }, ...this.workers.map((w, i) => ({ pid: w.pid, role: `w${i + 1}` }))];
  }

  async connect(driver: DriverKind, profile: ClientProfile, apiUrl: string, localAddresses: string[], concurrency: number, timeoutMs: number): Promise<ConnectResult> {
    const started = Date.now();
    const perWorkerConcurrency = Math.max(1, Math.ceil(concurrency / this.workers.length));
    this.workers.forEach((w, i) =>
      w.send({ t: "connect", driver, profile, apiUrl, clients: this.shares[i] ?? [], localAddresses, concurrency: perWorkerConcurrency } satisfies ToWorker),
    );
    const results = await Promise.all(this.workers.map((w) => w.next(isMsg("connected"), timeoutMs, "connect clients")));
    return {
      ok: results.reduce((n, r) => n + r.ok, 0),
      failed: results.reduce((n, r) => n + r.failed, 0),
      firstError: results.find((r) => r.firstError)?.firstError,
      ms: Date.now() - started,
    };
  }

  async collect(timeoutMs = 60_000): Promise<Received> {
    for (const w of this.workers) w.send({ t: "collect" } satisfies ToWorker);
    const parts = await Promise.all(this.workers.map((w) => w.next(isMsg("received"), timeoutMs, "collect")));
    const perMessage = new Map<string, { deliveries: number; last: number }>();
    const latencies: string[] = [];
    for (const part of parts) {
      for (const [k, n, last] of part.perMessage) {
        const e = perMessage.get(k);
        if (e) {
          e.deliveries += n;
          e.last = Math.max(e.last, last);
        } else perMessage.set(k, { deliveries: n, last });
      }
      latencies.push(part.latencies);
    }
    return {
      perMessage,
      latencies,
      duplicates: parts.reduce((n, p) => n + p.duplicates, 0),
      dropped: parts.reduce((n, p) => n + p.dropped, 0),
    };
  }

  /** Closes every client, then ends the processes (bounded: stragglers are killed). */
  async stop(): Promise<void> {
    for (const w of this.workers) w.send({ t: "close" } satisfies ToWorker);
    await Promise.all(this.workers.map((w) => w.next(isMsg("closed"), 30_000, "close clients").catch(() => undefined)));
    await Promise.all(this.workers.map((w) => w.stop(5_000)));
  }
}

/** 127.0.0.2 … 127.0.0.(n+1): source addresses for client sockets (loopback only). */
export function loopbackAddresses(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `127.0.0.${i + 2}`);
}
