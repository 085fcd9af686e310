#!/usr/bin/env node
/**
 * Cold start of each service: process start → first 200 from /readyz on its ADMIN_PORT, against
 * the real backends on 127.0.0.1 (database parley_coldstart, created if missing). One unmeasured
 * run per service first (migrations applied, file cache warm, as on a node that pulled the
 * image), then the median of RUNS measured runs.
 *
 *   node scripts/cold-start.mjs dist            # node dist/<svc>.js (what the image runs now)
 *   node scripts/cold-start.mjs tsx             # node --import tsx services/<svc>/src/main.ts (before)
 *   node scripts/cold-start.mjs tsx-nocache     # the same with tsx's compile cache off (a fresh pod)
 *   RUNS=5 APP_DIR=/tmp/parley-runtime node scripts/cold-start.mjs dist   # another install
 */
import { spawn, execFileSync } from "node:child_process";
import { generateKeyPairSync, randomUUID } from "node:crypto";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const appDir = process.env.APP_DIR ? resolve(process.env.APP_DIR) : root;
const mode = process.argv[2] ?? "dist";
const runs = Number(process.env.RUNS ?? 3);
const services = (process.env.SERVICES ?? "identity,chat,notification,realtime").split(",");
const database = "parley_coldstart";

function command(svc) {
  if (mode === "tsx") {
    const src = `${svc === "embedded" ? "packages" : "services"}/${svc}/src/main.ts`;
    return ["node", ["--import", "tsx", src]];
  }
  // A pod's /tmp (an emptyDir) starts empty, so tsx's compile cache is cold on every pod start.
  if (mode === "tsx-nocache") return ["node", ["--import", "tsx", `${svc === "embedded" ? "packages" : "services"}/${svc}/src/main.ts`]];
  if (mode === "dist") return ["node", ["--enable-source-maps", `dist/${svc}.js`]];
  if (mode === "dist-nomaps") return ["node", [`dist/${svc}.js`]];
  throw new Error(`unknown mode ${mode} (tsx | dist | dist-nomaps)`);
}

try {
  execFileSync("createdb", ["-h", "127.0.0.1", "-U", "postgres", database], { stdio: "ignore" });
} catch {
  // exists already
}

const jwk = { ...generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" }), kid: randomUUID(), alg: "EdDSA", use: "sig" };
// One fixed namespace: repeated measurements reuse the same streams instead of leaving new ones behind.
const env = {
  PATH: process.env.PATH,
  HOME: process.env.HOME ?? "/tmp",
  NODE_ENV: "production",
  LOG_LEVEL: "warn",
  DATA_DIR: "/tmp/parley-coldstart",
  DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${database}`,
  NATS_URL: "nats://127.0.0.1:4222",
  REDIS_URL: "redis://127.0.0.1:6379",
  BUS_NAMESPACE: "coldstart",
  REDIS_KEY_PREFIX: "coldstart:",
  SHUTDOWN_DELAY: "0",
  EMAIL_VERIFICATION: "off",
  PUBLIC_URL: "http://127.0.0.1:18400",
  IDENTITY_URL: "http://127.0.0.1:18400",
  CHAT_URL: "http://127.0.0.1:18401",
  PORT: "18402",
  ADMIN_PORT: "18403",
  WS_PORT: "18404",
};
if (mode === "tsx-nocache") env.TSX_DISABLE_CACHE = "1";
const envFor = (svc) => (svc === "identity" || svc === "embedded" ? { ...env, JWT_PRIVATE_JWK: JSON.stringify(jwk) } : { ...env, JWKS_URL: "http://127.0.0.1:18400/.well-known/jwks.json" });

async function once(svc) {
  const [cmd, args] = command(svc);
  const started = performance.now();
  const child = spawn(cmd, args, { cwd: appDir, env: envFor(svc), stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  let exited = false;
  const gone = new Promise((r) => child.once("exit", () => r((exited = true))));
  try {
    for (;;) {
      if (exited) throw new Error(`${svc} exited before /readyz answered 200:\n${stderr.slice(-2000)}`);
      const ok = await fetch(`http://127.0.0.1:${env.ADMIN_PORT}/readyz`).then((r) => r.status === 200, () => false);
      if (ok) return performance.now() - started;
      await new Promise((r) => setTimeout(r, 10));
    }
  } finally {
    child.kill("SIGTERM");
    await gone;
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = {};
for (const svc of services) {
  await once(svc);
  const times = [];
  for (let i = 0; i < runs; i++) times.push(await once(svc));
  results[svc] = { medianMs: Math.round(median(times)), runsMs: times.map(Math.round) };
  process.stdout.write(`${mode.padEnd(11)} ${svc.padEnd(13)} median ${String(results[svc].medianMs).padStart(5)} ms  (${results[svc].runsMs.join(", ")})\n`);
}
