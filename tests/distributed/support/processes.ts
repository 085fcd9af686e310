/**
 * Runs Parley services as separate OS processes the way the image does
 * (deploy/entrypoint.sh → `exec node dist/<svc>.js`, built by support/global-build.ts),
 * with their output in files under test-artifacts/distributed/.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = fileURLToPath(new URL("../../..", import.meta.url));
export const artifactsDir = join(repoRoot, "test-artifacts", "distributed");

export type ServiceName = "identity" | "chat" | "notification" | "realtime";

export interface ServiceProcess {
  /** identity, chat, notification, edge-a, ... */
  label: string;
  child: ChildProcess;
  logFile: string;
  /** Resolves with the exit code (null when killed by a signal) once the process is gone. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive(): boolean;
  /** Last lines of the process's stdout+stderr, for failure messages. */
  tail(lines?: number): string;
}

/** A port nobody listens on right now (the OS's pick, released at once). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** `n` distinct free ports (the OS may hand a just-released port out again). */
export async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

/**
 * Starts `deploy/entrypoint.sh <service>` with exactly `env` (plus PATH/HOME):
 * the script execs node, so the child's pid is the service itself and signals
 * reach its drain handler as they would in a pod.
 */
export function startService(service: ServiceName, label: string, env: Record<string, string>): ServiceProcess {
  mkdirSync(artifactsDir, { recursive: true });
  const logFile = join(artifactsDir, `${label}.log`);
  const fd = openSync(logFile, "w");
  const child = spawn("sh", [join(repoRoot, "deploy/entrypoint.sh"), service], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", PARLEY_APP_DIR: repoRoot, ...env },
    stdio: ["ignore", fd, fd],
  });
  closeSync(fd);
  let running = true;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("exit", (code, signal) => {
      running = false;
      resolve({ code, signal });
    });
  });
  return {
    label,
    child,
    logFile,
    exited,
    alive: () => running,
    tail(lines = 40) {
      try {
        // Long lines are pino errors with stacks; their start says enough.
        const all = readFileSync(logFile, "utf8").trimEnd().split("\n");
        return all.slice(-lines).map((l) => (l.length > 600 ? `${l.slice(0, 600)}…` : l)).join("\n");
      } catch {
        return "(no output)";
      }
    },
  };
}

/** Polls GET <adminUrl>/readyz (the ADMIN_PORT listener) until 200; fails at once (with the log tail) if the process dies. */
export async function waitReady(proc: ServiceProcess, adminUrl: string, timeoutMs = 45_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    if (!proc.alive()) throw new Error(`${proc.label} exited before it was ready:\n${proc.tail()}`);
    try {
      const res = await fetch(`${adminUrl}/readyz`, { signal: AbortSignal.timeout(2_000) });
      if (res.status === 200) return;
      last = `HTTP ${res.status}: ${(await res.text()).slice(0, 300)}`;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${proc.label} not ready at ${adminUrl}/readyz within ${timeoutMs} ms (last: ${last}):\n${proc.tail()}`);
}

/** SIGTERM and the exit that follows, bounded by `graceMs` (a pod's terminationGracePeriodSeconds). */
export async function terminate(proc: ServiceProcess, graceMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }> {
  const started = Date.now();
  if (proc.alive()) proc.child.kill("SIGTERM");
  const timeout = new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), graceMs).unref());
  const result = await Promise.race([proc.exited, timeout]);
  if (result === "timeout") {
    throw new Error(`${proc.label} still running ${graceMs} ms after SIGTERM:\n${proc.tail()}`);
  }
  return { ...result, ms: Date.now() - started };
}

/** Last resort for afterAll: nothing outlives the test. */
export async function killAll(procs: ServiceProcess[]): Promise<void> {
  await Promise.all(
    procs.map(async (p) => {
      if (!p.alive()) return;
      p.child.kill("SIGKILL");
      await p.exited;
    }),
  );
}
