/**
 * `make cluster`: every service apart, from the compiled build (deploy/entrypoint.sh →
 * `node dist/<svc>.js`), several replicas each, behind Debian's nginx routing like the chart's
 * ingress, on the real Postgres / NATS / Redis of this machine. One URL serves the web client,
 * /config.json, every API and /ws.
 *
 * Programmatic API (the chaos suite drives it): startCluster() → Cluster with start / stop /
 * kill of one process by name, and the ports of each. State (PIDs, ports, logs, nginx conf,
 * generated keys) lives in one state directory, so `make cluster-down` (stopCluster) can stop
 * from another process exactly what was started, by PID.
 */
import { execFileSync } from "node:child_process";
import { generateKeyPairSync, randomBytes, randomUUID } from "node:crypto";
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureNginx, nginxConf, prepareNginxDir, testNginxConf } from "./nginx.js";
import { freePort, freePorts, isOurs, spawnDetached, stopPid, tail, waitListening } from "./procs.js";

export const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

export type ServiceName = "identity" | "chat" | "notification" | "realtime";
const SERVICES: ServiceName[] = ["identity", "chat", "notification", "realtime"];

export interface ClusterOptions {
  /** PIDs, logs, nginx conf, keys. Default <repo>/.cluster. */
  stateDir?: string;
  /** nginx's port on 127.0.0.1; 0 = a free one. Default 8090. */
  port?: number;
  /** Replicas per service (realtime = edge nodes). Default 2 each. */
  replicas?: Partial<Record<ServiceName, number>>;
  /** Default: database parley_cluster on 127.0.0.1 (created if missing). */
  databaseUrl?: string;
  natsUrl?: string;
  redisUrl?: string;
  /** BUS_NAMESPACE and REDIS_KEY_PREFIX base, so clusters and test runs stay apart. Default "cluster". */
  namespace?: string;
  /** Verification mail goes here; without it EMAIL_VERIFICATION=off (accounts verified on register). */
  smtpUrl?: string;
  /** Where dist/, services/<svc>/drizzle and web/dist are (a checkout after `pnpm build`, or runtime-tree.sh's output). */
  appDir?: string;
  /** Extra environment for every service (e.g. LOG_LEVEL, RATE_LIMIT_SCALE). */
  env?: Record<string, string>;
  /** Progress lines (default: stderr). */
  log?: (line: string) => void;
  readyTimeoutMs?: number;
}

export interface ClusterProcess {
  /** identity-1, chat-2, edge-a, ... (also its NODE_ID). */
  name: string;
  service: ServiceName;
  port: number;
  adminPort: number;
  /** Edge nodes only. */
  wsPort?: number;
  pid: number;
  logFile: string;
}

interface NginxState {
  pid: number;
  conf: string;
  port: number;
}

/** What state.json holds: enough for `make cluster-down` to stop everything by PID. No secrets. */
interface State {
  url: string;
  wsUrl: string;
  nginx: NginxState;
  processes: ClusterProcess[];
}

/** How to (re)start a process; kept in memory only (it holds the keys and SMTP_URL). */
interface LaunchContext {
  stateDir: string;
  appDir: string;
  env: Record<string, string>;
  secrets: { jwk: string; verificationKey: string };
}

const HOST = "127.0.0.1";
const stateFile = (dir: string) => join(dir, "state.json");
/** The shell running the entrypoint until it execs node, then node on the bundle (same PID). */
const marker = (service: ServiceName) => [`entrypoint.sh ${service}`, `dist/${service}.js`];
const nginxMarker = (conf: string) => conf;
const edgeName = (i: number) => `edge-${String.fromCharCode(97 + i)}`;

function readState(dir: string): State | undefined {
  const file = stateFile(dir);
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, "utf8")) as State;
}

/** Keys every replica must share, generated once per state directory (0600, never logged). */
function sharedSecrets(dir: string): { jwk: string; verificationKey: string } {
  const file = join(dir, "secrets.json");
  if (existsSync(file)) return JSON.parse(readFileSync(file, "utf8")) as { jwk: string; verificationKey: string };
  const jwk = JSON.stringify({ ...generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" }), kid: randomUUID(), alg: "EdDSA", use: "sig" });
  const secrets = { jwk, verificationKey: randomBytes(32).toString("base64") };
  writeFileSync(file, JSON.stringify(secrets), { mode: 0o600 });
  return secrets;
}

function ensureDatabase(name: string): string {
  try {
    execFileSync("createdb", ["-h", HOST, "-U", "postgres", name], { stdio: ["ignore", "ignore", "pipe"] });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? String(err);
    if (!stderr.includes("already exists")) throw new Error(`cluster: createdb ${name} failed: ${stderr.trim()}`, { cause: err });
  }
  return `postgres://postgres@${HOST}:5432/${name}`;
}

async function waitReady(p: ClusterProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    if (!isOurs(p.pid, marker(p.service))) throw new Error(`${p.name} exited before it was ready:\n${tail(p.logFile)}`);
    try {
      const res = await fetch(`http://${HOST}:${p.adminPort}/readyz`, { signal: AbortSignal.timeout(2_000) });
      if (res.status === 200) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${p.name} not ready on :${p.adminPort}/readyz within ${timeoutMs} ms (last: ${last}):\n${tail(p.logFile)}`);
}

export class Cluster {
  private constructor(
    readonly stateDir: string,
    private state: State,
    private readonly ctx: LaunchContext,
    private readonly readyTimeoutMs: number,
  ) {}

  /** The one URL: web client, /config.json, every API, /.well-known/jwks.json. */
  get url(): string {
    return this.state.url;
  }

  /** WebSocket URL through nginx (what /config.json hands the web client). */
  get wsUrl(): string {
    return this.state.wsUrl;
  }

  /** nginx's master process (its workers are its children): for CPU accounting, e.g. the bench. */
  get nginxPid(): number {
    return this.state.nginx.pid;
  }

  get nginxLog(): string {
    return join(this.stateDir, "nginx", "access.log");
  }

  processes(): ClusterProcess[] {
    return this.state.processes.map((p) => ({ ...p }));
  }

  process(name: string): ClusterProcess {
    const p = this.state.processes.find((x) => x.name === name);
    if (!p) throw new Error(`cluster: no process ${name} (have ${this.state.processes.map((x) => x.name).join(", ")})`);
    return { ...p };
  }

  alive(name: string): boolean {
    const p = this.process(name);
    return isOurs(p.pid, marker(p.service));
  }

  /** Last lines of one process's log, or of every process's (for failure messages). */
  tail(name?: string, lines = 20): string {
    const procs = name ? [this.process(name)] : this.state.processes;
    return procs.map((p) => `--- ${p.name} (${isOurs(p.pid, marker(p.service)) ? "running" : "gone"}) ${p.logFile}\n${tail(p.logFile, lines)}`).join("\n");
  }

  /** (Re)starts one process on its ports and waits for its /readyz. */
  async start(name: string): Promise<ClusterProcess> {
    const p = this.process(name);
    if (isOurs(p.pid, marker(p.service))) throw new Error(`cluster: ${name} is already running (pid ${p.pid})`);
    const started = launch(p, this.ctx);
    this.replace(started);
    await waitReady(started, this.readyTimeoutMs);
    return started;
  }

  /** SIGTERM (the service drains), SIGKILL after graceMs. */
  async stop(name: string, graceMs = 20_000): Promise<"exited" | "killed" | "gone"> {
    const p = this.process(name);
    return stopPid(p.pid, marker(p.service), "SIGTERM", graceMs);
  }

  /** SIGKILL: a crash, no drain. Resolves once the process is gone. */
  async kill(name: string): Promise<void> {
    const p = this.process(name);
    await stopPid(p.pid, marker(p.service), "SIGKILL", 5_000);
  }

  /** SIGSTOP: the process hangs (a GC pause, a throttled or frozen pod) with its sockets open. */
  pause(name: string): void {
    this.signal(name, "SIGSTOP");
  }

  /** SIGCONT after pause(). */
  resume(name: string): void {
    this.signal(name, "SIGCONT");
  }

  private signal(name: string, signal: NodeJS.Signals): void {
    const p = this.process(name);
    if (!isOurs(p.pid, marker(p.service))) throw new Error(`cluster: ${name} is not running`);
    process.kill(p.pid, signal);
  }

  /** Everything this cluster started, services first (nginx keeps routing while they drain). */
  async stopAll(graceMs = 20_000): Promise<void> {
    await stopState(this.stateDir, this.state, graceMs);
  }

  private replace(p: ClusterProcess): void {
    this.state.processes = this.state.processes.map((x) => (x.name === p.name ? p : x));
    writeState(this.stateDir, this.state);
  }

  static async start(opts: ClusterOptions = {}): Promise<Cluster> {
    const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
    const stateDir = resolve(opts.stateDir ?? join(repoRoot, ".cluster"));
    const appDir = resolve(opts.appDir ?? repoRoot);
    const readyTimeoutMs = opts.readyTimeoutMs ?? 45_000;
    mkdirSync(join(stateDir, "logs"), { recursive: true });
    const previous = readState(stateDir);
    if (previous && (isOurs(previous.nginx.pid, nginxMarker(previous.nginx.conf)) || previous.processes.some((p) => isOurs(p.pid, marker(p.service))))) {
      throw new Error(`cluster: already running from ${stateDir} at ${previous.url} (make cluster-down first)`);
    }
    for (const svc of [...SERVICES, "embedded"]) {
      if (!existsSync(join(appDir, "dist", `${svc}.js`))) throw new Error(`cluster: ${appDir}/dist/${svc}.js is missing: run \`pnpm build\` (or \`make build\`) first`);
    }
    if (!existsSync(join(appDir, "web", "dist", "index.html"))) throw new Error(`cluster: ${appDir}/web/dist is missing: run \`pnpm build\` first`);
    const nginx = ensureNginx(log);

    const port = opts.port === 0 ? await freePort() : (opts.port ?? 8090);
    const url = `http://${HOST}:${port}`;
    const wsUrl = `ws://${HOST}:${port}/ws`;
    const replicas: Record<ServiceName, number> = { identity: 2, chat: 2, notification: 2, realtime: 2, ...opts.replicas };
    const total = SERVICES.reduce((n, s) => n + replicas[s], 0);
    const ports = await freePorts(total * 2 + replicas.realtime);
    const take = () => {
      const p = ports.shift();
      if (p === undefined) throw new Error("cluster: ran out of ports");
      return p;
    };

    const secrets = sharedSecrets(stateDir);
    const namespace = opts.namespace ?? "cluster";
    const verification = opts.smtpUrl !== undefined;
    // What the chart gives every service (helm/parley/templates/_env.tpl), pointed at nginx:
    // it is this machine's ingress and its in-cluster Services at once.
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: process.env.HOME ?? "/tmp",
      PARLEY_APP_DIR: appDir,
      NODE_ENV: "production",
      LOG_LEVEL: "info",
      DATA_DIR: join(stateDir, "data"),
      DATABASE_URL: opts.databaseUrl ?? ensureDatabase("parley_cluster"),
      NATS_URL: opts.natsUrl ?? `nats://${HOST}:4222`,
      REDIS_URL: opts.redisUrl ?? `redis://${HOST}:6379`,
      BUS_NAMESPACE: namespace,
      REDIS_KEY_PREFIX: `${namespace}:`,
      SHUTDOWN_DELAY: "0",
      PUBLIC_URL: url,
      PUBLIC_WS_URL: wsUrl,
      IDENTITY_URL: url,
      CHAT_URL: url,
      JWKS_URL: `${url}/.well-known/jwks.json`,
      // One proxy hop (nginx): X-Forwarded-For's last entry is the client.
      TRUST_PROXY: "1",
      ...(verification ? { SMTP_URL: opts.smtpUrl ?? "" } : { EMAIL_VERIFICATION: "off" }),
      ...opts.env,
    };
    const ctx: LaunchContext = { stateDir, appDir, env, secrets };

    const processes: ClusterProcess[] = [];
    for (const service of SERVICES) {
      for (let i = 0; i < replicas[service]; i++) {
        const name = service === "realtime" ? edgeName(i) : `${service}-${i + 1}`;
        processes.push({
          name,
          service,
          port: take(),
          adminPort: take(),
          ...(service === "realtime" ? { wsPort: take() } : {}),
          pid: 0,
          logFile: join(stateDir, "logs", `${name}.log`),
        });
      }
    }
    const ofService = (s: ServiceName) => processes.filter((p) => p.service === s);

    const nginxDir = join(stateDir, "nginx");
    prepareNginxDir(nginxDir);
    const conf = join(nginxDir, "nginx.conf");
    writeFileSync(
      conf,
      nginxConf({
        dir: nginxDir,
        listenHost: HOST,
        port,
        upstreams: {
          identity: ofService("identity").map((p) => p.port),
          chat: ofService("chat").map((p) => p.port),
          notification: ofService("notification").map((p) => p.port),
          realtime: ofService("realtime").map((p) => p.wsPort ?? 0),
        },
      }),
    );
    testNginxConf(nginx, nginxDir, conf);
    const ng = spawnDetached(nginx, ["-p", nginxDir, "-e", join(nginxDir, "error.log"), "-c", conf], { cwd: nginxDir, env: { PATH: env.PATH ?? "" }, logFile: join(nginxDir, "error.log") });
    const state: State = { url, wsUrl, nginx: { pid: ng.pid, conf, port }, processes };
    writeState(stateDir, state);
    const cluster = new Cluster(stateDir, state, ctx, readyTimeoutMs);
    try {
      await waitListening(HOST, port, 10_000, () => isOurs(ng.pid, conf), `nginx (${join(nginxDir, "error.log")})`);
      // All at once, as a rollout does: nothing may depend on another service being up first.
      for (const p of processes) Object.assign(p, launch(p, ctx));
      writeState(stateDir, state);
      await Promise.all(processes.map((p) => waitReady(p, readyTimeoutMs)));
    } catch (err) {
      await cluster.stopAll(5_000);
      throw err;
    }
    log(`cluster: ${processes.map((p) => p.name).join(", ")} ready behind nginx`);
    return cluster;
  }
}

function writeState(stateDir: string, state: State): void {
  writeFileSync(stateFile(stateDir), JSON.stringify(state, null, 2));
}

/** The chart's per-service differences: only identity signs (and serves the web client, web.servedBy). */
function launch(p: ClusterProcess, ctx: LaunchContext): ClusterProcess {
  const env: Record<string, string> = {
    ...ctx.env,
    // Identity seals verification links with it and notification opens them; nobody else gets it.
    ...(ctx.env.SMTP_URL && (p.service === "identity" || p.service === "notification") ? { VERIFICATION_TOKEN_KEY: ctx.secrets.verificationKey } : {}),
    ...(p.service === "identity" ? { JWT_PRIVATE_JWK: ctx.secrets.jwk, JWKS_URL: "", WEB_DIST: join(ctx.appDir, "web", "dist") } : {}),
    NODE_ID: p.name,
    PORT: String(p.port),
    ADMIN_PORT: String(p.adminPort),
    ...(p.wsPort ? { WS_PORT: String(p.wsPort) } : {}),
  };
  // Logs append across restarts; the marker says where this life of the process begins.
  appendFileSync(p.logFile, `--- cluster: starting ${p.name} (${p.service}) at ${new Date().toISOString()}\n`);
  const spawned = spawnDetached("sh", [join(ctx.appDir, "deploy", "entrypoint.sh"), p.service], { cwd: ctx.appDir, env, logFile: p.logFile });
  return { ...p, pid: spawned.pid };
}

async function stopState(stateDir: string, state: State, graceMs: number): Promise<void> {
  await Promise.all(state.processes.filter((p) => p.pid > 0).map((p) => stopPid(p.pid, marker(p.service), "SIGTERM", graceMs)));
  // SIGQUIT: nginx's graceful shutdown (finishes in-flight requests, then exits).
  await stopPid(state.nginx.pid, nginxMarker(state.nginx.conf), "SIGQUIT", 5_000);
  rmSync(stateFile(stateDir), { force: true });
}

/** `make cluster-down`: stops by PID what the state directory says was started. */
export async function stopCluster(stateDir = join(repoRoot, ".cluster"), graceMs = 20_000): Promise<boolean> {
  const state = readState(resolve(stateDir));
  if (!state) return false;
  await stopState(resolve(stateDir), state, graceMs);
  return true;
}

export const startCluster = (opts?: ClusterOptions) => Cluster.start(opts);
