/**
 * Private Postgres, NATS JetStream and Redis servers on free ports, for tests that stop and
 * restart a dependency under a running cluster. The machine's shared servers (5432, 4222, 6379)
 * serve every other test running in parallel and are never touched from here.
 *
 * Each backend restarts on the same port with the same data directory, so the services see an
 * outage of their one configured address and nothing else changes.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from "node:child_process";
import { chownSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { killNatsServer, startNatsServer } from "../../../packages/platform/test/nats-server.js";
import { freePort, waitListening } from "../../../scripts/cluster/procs.js";

const HOST = "127.0.0.1";
const REDIS_SERVER = "/usr/bin/redis-server";

export interface Backend {
  readonly url: string;
  /** Takes the server away (clients see refused connections). Resolves once it is gone. */
  stop(): Promise<void>;
  /** Back on the same port with the same data. Resolves once it accepts connections. */
  start(): Promise<void>;
  /** Stops it for good and deletes its data. */
  destroy(): Promise<void>;
}

function waitExit(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill(signal);
  });
}

/** JetStream with a file store that survives restarts (a graceful stop, as a rolling restart does). */
export async function startPrivateNats(): Promise<Backend> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "parley-chaos-nats-"));
  let child: ChildProcess | undefined = await startNatsServer(port, dir);
  const stop = async () => {
    // SIGTERM: nats-server flushes the store (SIGKILL could lose the last writes of an fsync interval).
    if (child) await waitExit(child, "SIGTERM");
    child = undefined;
  };
  return {
    url: `nats://${HOST}:${port}`,
    stop,
    async start() {
      child ??= await startNatsServer(port, dir);
    },
    async destroy() {
      if (child) await killNatsServer(child);
      child = undefined;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** No persistence: a restart loses presence, rate-limit buckets and leases, as a Redis pod restart does. */
export async function startPrivateRedis(): Promise<Backend> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async () => {
    if (child) return;
    const proc = spawn(REDIS_SERVER, ["--port", String(port), "--bind", HOST, "--save", "", "--appendonly", "no"], { stdio: "ignore" });
    child = proc;
    await waitListening(HOST, port, 10_000, () => proc.exitCode === null, "redis-server");
  };
  await start();
  return {
    url: `redis://${HOST}:${port}`,
    async stop() {
      if (child) await waitExit(child, "SIGKILL");
      child = undefined;
    },
    start,
    async destroy() {
      if (child) await waitExit(child, "SIGKILL");
      child = undefined;
    },
  };
}

function pgBin(name: string): string {
  const versions = readdirSync("/usr/lib/postgresql").sort((a, b) => Number(b) - Number(a));
  if (versions.length === 0) throw new Error("no /usr/lib/postgresql/<version>: install postgresql");
  return `/usr/lib/postgresql/${versions[0]}/bin/${name}`;
}

/**
 * Runs a Postgres binary as the postgres user (initdb and the server refuse to run as root).
 * Asynchronously: a stop or start takes seconds, and the load driver in this process keeps going.
 */
async function asPostgres(bin: string, args: string[]): Promise<void> {
  await promisify(execFile)("runuser", ["-u", "postgres", "--", pgBin(bin), ...args], { timeout: 60_000 });
}

/**
 * Its own cluster (initdb) in a temporary directory, trust auth, socket in that directory.
 * `database` is created once; stop is a fast shutdown (open sessions are cut, as in a failover).
 */
export async function startPrivatePostgres(database: string): Promise<Backend> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "parley-chaos-pg-"));
  const data = join(dir, "data");
  mkdirSync(data);
  chownSync(dir, uidOf("postgres"), gidOf("postgres"));
  chownSync(data, uidOf("postgres"), gidOf("postgres"));
  await asPostgres("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"]);
  const options = `-p ${port} -k ${dir} -c listen_addresses=${HOST} -c fsync=off -c max_connections=200`;
  const start = async () => {
    await asPostgres("pg_ctl", ["-D", data, "-o", options, "-l", join(dir, "server.log"), "-w", "-t", "30", "start"]);
  };
  const stop = async () => {
    await asPostgres("pg_ctl", ["-D", data, "-m", "fast", "-w", "-t", "30", "stop"]);
  };
  await start();
  const admin = new pg.Client({ connectionString: `postgres://postgres@${HOST}:${port}/postgres` });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${database}`);
  } finally {
    await admin.end();
  }
  return {
    url: `postgres://postgres@${HOST}:${port}/${database}`,
    stop,
    start,
    async destroy() {
      await stop().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function uidOf(user: string): number {
  return Number(execFileSync("id", ["-u", user], { encoding: "utf8" }).trim());
}

function gidOf(user: string): number {
  return Number(execFileSync("id", ["-g", user], { encoding: "utf8" }).trim());
}
