/**
 * CPU accounting from /proc (Linux): user+sys time of given pids over a measured window.
 *
 * - Load generators (the runner and every client-worker process): CPU% = (user+sys) / wall of
 *   the window. Above CLIENT_BOUND_PCT a process is near a full core, so the figures it produced
 *   measure the client rather than the server: the run is flagged client-bound.
 * - Servers (edge processes) and backends (Postgres, NATS, Redis found by process name):
 *   CPU-seconds over the window. Postgres backends that exit during the window are caught by the
 *   postmaster's cutime/cstime (children it reaped). Backends are whole-machine processes: other
 *   users' load on them is counted too, which is why a bench wants a quiet machine.
 */
import { readdirSync, readFileSync } from "node:fs";

export const CLIENT_BOUND_PCT = 80;
const TICKS_PER_SEC = 100; // USER_HZ; 100 on every Linux the bench runs on (getconf CLK_TCK).

interface Ticks {
  /** utime + stime */
  own: number;
  /** cutime + cstime (reaped children) */
  children: number;
  comm: string;
  ppid: number;
}

function readTicks(pid: number): Ticks | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined; // gone
  }
  // comm may contain spaces and parentheses: fields after the last ')' are positional.
  const close = stat.lastIndexOf(")");
  const comm = stat.slice(stat.indexOf("(") + 1, close);
  const f = stat.slice(close + 2).split(" ");
  // f[0] = state (field 3); utime = field 14 → f[11], stime f[12], cutime f[13], cstime f[14]; ppid field 4 → f[1].
  return { own: Number(f[11]) + Number(f[12]), children: Number(f[13]) + Number(f[14]), comm, ppid: Number(f[1]) };
}

export const BACKEND_NAMES = { postgres: ["postgres"], nats: ["nats-server"], redis: ["redis-server"] } as const;
export type Backend = keyof typeof BACKEND_NAMES;

function pidsByComm(names: readonly string[]): number[] {
  const out: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    const t = readTicks(Number(d));
    if (t && names.includes(t.comm)) out.push(Number(d));
  }
  return out;
}

export interface ProcessCpu {
  pid: number;
  role: string;
  cpuSeconds: number;
  /** (user+sys) / wall, in percent of one core. */
  cpuPct: number;
}

export interface CpuUsage {
  wallSeconds: number;
  generators: ProcessCpu[];
  servers: ProcessCpu[];
  serverCpuSeconds: number;
  backendCpuSeconds: Partial<Record<Backend, number>>;
  /** Highest generator CPU%. */
  maxGeneratorPct: number;
  clientBound: boolean;
}

export interface CpuMeterSpec {
  generators: Array<{ pid: number; role: string }>;
  servers: Array<{ pid: number; role: string }>;
  backends: readonly Backend[];
}

/** Starts a measurement window; `stop()` returns the usage over it. */
export function startCpuMeter(spec: CpuMeterSpec): { stop(): CpuUsage } {
  const t0 = performance.now();
  const at = (ps: Array<{ pid: number }>) => new Map(ps.map((p) => [p.pid, readTicks(p.pid)?.own ?? 0]));
  const gen0 = at(spec.generators);
  const srv0 = at(spec.servers);
  const backend0 = new Map<Backend, Map<number, Ticks>>();
  for (const b of spec.backends) {
    const m = new Map<number, Ticks>();
    for (const pid of pidsByComm(BACKEND_NAMES[b])) {
      const t = readTicks(pid);
      if (t) m.set(pid, t);
    }
    backend0.set(b, m);
  }
  return {
    stop(): CpuUsage {
      const wallSeconds = (performance.now() - t0) / 1000;
      const usage = (ps: Array<{ pid: number; role: string }>, before: Map<number, number>): ProcessCpu[] =>
        ps.map((p) => {
          const now = readTicks(p.pid)?.own;
          // A process that exited has no reading: report what is known rather than a negative.
          const cpuSeconds = now === undefined ? 0 : Math.max(0, now - (before.get(p.pid) ?? 0)) / TICKS_PER_SEC;
          return { pid: p.pid, role: p.role, cpuSeconds, cpuPct: wallSeconds > 0 ? (100 * cpuSeconds) / wallSeconds : 0 };
        });
      const generators = usage(spec.generators, gen0);
      const servers = usage(spec.servers, srv0);
      const backendCpuSeconds: Partial<Record<Backend, number>> = {};
      for (const b of spec.backends) {
        const before = backend0.get(b) ?? new Map<number, Ticks>();
        let ticks = 0;
        for (const pid of pidsByComm(BACKEND_NAMES[b])) {
          const t = readTicks(pid);
          if (!t) continue;
          const b0 = before.get(pid);
          ticks += t.own - (b0?.own ?? 0);
          // Only the parent of the family (postmaster) reaps backends; counting cutime of every
          // process would double-count nothing else, since the others have no children.
          ticks += t.children - (b0?.children ?? 0);
        }
        backendCpuSeconds[b] = Math.max(0, ticks) / TICKS_PER_SEC;
      }
      const maxGeneratorPct = Math.max(0, ...generators.map((g) => g.cpuPct));
      return {
        wallSeconds,
        generators,
        servers,
        serverCpuSeconds: servers.reduce((n, s) => n + s.cpuSeconds, 0),
        backendCpuSeconds,
        maxGeneratorPct,
        clientBound: maxGeneratorPct > CLIENT_BOUND_PCT,
      };
    },
  };
}

/** "w1 34% · w2 31% · runner 5%" */
export function fmtGenerators(u: CpuUsage | undefined): string {
  if (!u) return "n/a";
  const list = u.generators.map((g) => `${g.role} ${Math.round(g.cpuPct)}%`).join(" · ");
  return u.clientBound ? `**CLIENT-BOUND** ${list}` : list;
}
