/**
 * Child processes of the bench: servers and client workers run as separate Node processes so
 * that each stays under the 20,000-fd limit and the server's RSS can be read on its own.
 */
import { fork, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export interface Child<Msg> {
  proc: ChildProcess;
  pid: number;
  /** Next IPC message matching `pred`, or rejects after `timeoutMs` / if the child exits. */
  next<T extends Msg>(pred: (m: Msg) => m is T, timeoutMs: number, what: string): Promise<T>;
  send(msg: unknown): void;
  stop(timeoutMs?: number): Promise<void>;
}

export function forkTs<Msg>(scriptUrl: URL, env: Record<string, string>, args: string[] = [], nodeFlags: string[] = []): Child<Msg> {
  const proc = fork(fileURLToPath(scriptUrl), args, {
    // BENCH_CPU_PROF=<dir>: every child (server and workers) writes a V8 CPU profile there on exit;
    // NODE_OPTIONS cannot carry --cpu-prof, so it is passed as an exec arg.
    // BENCH_CHILD_ARGS: more node flags for every child (e.g. "--heap-prof --heap-prof-dir=/tmp/h").
    execArgv: [
      "--import",
      "tsx",
      ...nodeFlags,
      ...(process.env.BENCH_CPU_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []),
      ...(process.env.BENCH_CHILD_ARGS?.split(" ").filter(Boolean) ?? []),
    ],
    env: { ...process.env, ...env },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  if (proc.pid === undefined) throw new Error(`could not start ${scriptUrl.pathname}`);
  const backlog: Msg[] = [];
  const waiters = new Set<(m: Msg) => boolean>();
  proc.on("message", (m: Msg) => {
    for (const w of waiters) if (w(m)) return;
    backlog.push(m);
  });
  let exited = false;
  const exitListeners = new Set<() => void>();
  proc.on("exit", () => {
    exited = true;
    for (const l of exitListeners) l();
  });
  return {
    proc,
    pid: proc.pid,
    next<T extends Msg>(pred: (m: Msg) => m is T, timeoutMs: number, what: string): Promise<T> {
      const i = backlog.findIndex(pred);
      if (i >= 0) return Promise.resolve(backlog.splice(i, 1)[0] as T);
      return new Promise<T>((resolve, reject) => {
        const done = () => {
          clearTimeout(timer);
          waiters.delete(waiter);
          exitListeners.delete(onExit);
        };
        const waiter = (m: Msg): boolean => {
          if (!pred(m)) return false;
          done();
          resolve(m);
          return true;
        };
        const onExit = () => {
          done();
          reject(new Error(`${what}: child ${proc.pid} exited`));
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`${what}: no answer within ${timeoutMs} ms`));
        }, timeoutMs);
        if (exited) return onExit();
        waiters.add(waiter);
        exitListeners.add(onExit);
      });
    },
    send(msg) {
      if (!exited && proc.connected) proc.send(msg as object);
    },
    async stop(timeoutMs = 10_000) {
      if (exited) return;
      const gone = new Promise<void>((resolve) => exitListeners.add(resolve));
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
      await gone;
      clearTimeout(timer);
    },
  };
}

/** Resident set size of a process in bytes (Linux /proc). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
  if (!m?.[1]) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

/** Open file descriptors of a process. */
export function fdCount(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return -1;
  }
}

/** Asks a bench server child (parley/server.ts, socketio-server.ts) to collect garbage; its RSS after. */
export async function gcRss<Msg extends { t: string }>(child: Child<Msg>): Promise<number> {
  child.send({ t: "gc" });
  const m = await child.next((x: Msg): x is Msg & { t: "rss"; bytes: number } => x.t === "rss", 30_000, "gc");
  return m.bytes;
}

/**
 * The IPC side of gcRss, for server children started with --expose-gc: two full collections
 * (the second frees what the first's finalizers released), a pause for the allocator to hand
 * pages back, then the RSS.
 */
export function serveGcRequests(): void {
  process.on("message", (m: { t?: string }) => {
    if (m.t !== "gc") return;
    const v8gc = (globalThis as { gc?: (opts?: object) => void }).gc;
    // "last-resort" is V8's CollectAllAvailableGarbage (repeated full GCs that also shrink the
    // heap). RSS still drifts down for seconds after a busy spell, so callers read until it
    // holds still (scenarios/capacity.ts).
    const gc = v8gc ? () => v8gc({ type: "major", execution: "sync", flavor: "last-resort" }) : undefined;
    gc?.();
    // A second collection a moment later frees what the first one's finalizers (sockets' native
    // handles, weak refs) released; then give the allocator time to hand pages back.
    setTimeout(() => {
      gc?.();
      setTimeout(() => process.send?.({ t: "rss", bytes: process.memoryUsage().rss, gcAvailable: gc !== undefined }), 800);
    }, 200);
  });
}
