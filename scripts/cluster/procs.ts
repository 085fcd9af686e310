/**
 * OS processes of `make cluster`: started detached (own process group, output in a log file) so
 * they outlive the command that started them, and stopped later by PID, from this or another
 * process (`make cluster-down`). A PID is signalled only while /proc says it is still the
 * command we started, so a PID the kernel handed out again is never touched.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { connect, createServer } from "node:net";

export interface Spawned {
  pid: number;
  child: ChildProcess;
}

export function spawnDetached(cmd: string, args: string[], opts: { cwd: string; env: Record<string, string>; logFile: string }): Spawned {
  const fd = openSync(opts.logFile, "a");
  try {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ["ignore", fd, fd], detached: true });
    if (child.pid === undefined) throw new Error(`could not start ${cmd} ${args.join(" ")}`);
    child.unref();
    return { pid: child.pid, child };
  } finally {
    closeSync(fd);
  }
}

/** The process's command line; undefined when gone, a zombie, or in the middle of an execve. */
export function cmdline(pid: number): string | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    return raw === "" ? undefined : raw.split("\0").join(" ").trim();
  } catch {
    return undefined;
  }
}

/**
 * Alive and still running something containing one of `markers` (e.g. "entrypoint.sh chat" for
 * the shell before it execs, "dist/chat.js" after).
 */
export function isOurs(pid: number, markers: string | string[]): boolean {
  if (!running(pid)) return false;
  const line = cmdline(pid);
  // Empty while the kernel swaps the image in execve (the entrypoint's `exec node`): still ours.
  // (Kernel threads have no cmdline either, but they ignore the signals sent here.)
  if (line === undefined) return true;
  return (Array.isArray(markers) ? markers : [markers]).some((m) => line.includes(m));
}

/** The PID exists and is not a zombie (an exited child not yet reaped). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // "pid (comm) S ...": the state follows the last ")" (comm may contain spaces or parentheses).
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Sends `signal`, then waits up to `graceMs` for the process to go; SIGKILL after that.
 * Returns how it ended: "exited" within the grace period, "killed" otherwise, "gone" if it was not running.
 */
export async function stopPid(pid: number, marker: string | string[], signal: NodeJS.Signals, graceMs: number): Promise<"exited" | "killed" | "gone"> {
  if (!isOurs(pid, marker)) return "gone";
  try {
    process.kill(pid, signal);
  } catch {
    return "gone";
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isOurs(pid, marker)) return "exited";
    await sleep(50);
  }
  if (isOurs(pid, marker)) process.kill(pid, "SIGKILL");
  while (isOurs(pid, marker)) await sleep(20);
  return "killed";
}

export async function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, host, () => {
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

/** Resolves once something accepts TCP connections on host:port. */
export async function waitListening(host: string, port: number, timeoutMs: number, alive: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!alive()) throw new Error(`${what} exited before listening on ${host}:${port}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, host);
      socket.once("connect", () => (socket.destroy(), resolve(true)));
      socket.once("error", () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`${what} not listening on ${host}:${port} within ${timeoutMs} ms`);
}

export function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).map((l) => (l.length > 600 ? `${l.slice(0, 600)}…` : l)).join("\n");
  } catch {
    return "(no output)";
  }
}
