#!/usr/bin/env node
/**
 * `pnpm build`: one esbuild bundle per service entry point in dist/, so production runs
 * `node dist/<service>.js` instead of compiling TypeScript at every start (tsx).
 *
 * Workspace code and pure-JS dependencies are bundled: the runtime image needs no workspace
 * package and no TypeScript. Only what cannot be bundled stays external, and those packages are
 * the root package.json's `dependencies` (what `pnpm deploy --prod` puts into the image):
 *   - uWebSockets.js, @node-rs/argon2: native addons, loaded by computed path;
 *   - @electric-sql/pglite: loads its WASM and data files relative to its own module;
 *   - pg-native: pg's optional native binding (never installed; pg falls back to JS).
 *
 * `new URL("<relative>", import.meta.url)` in workspace sources (migrations folders, web/dist)
 * is rebased from the source file to the bundle, so dist/ finds the same files as src/ did:
 * the runtime keeps the repository layout (dist/, services/<svc>/drizzle, web/dist).
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const outdir = resolve(root, "dist");

export const entries = {
  identity: "services/identity/src/main.ts",
  chat: "services/chat/src/main.ts",
  notification: "services/notification/src/main.ts",
  realtime: "services/realtime/src/main.ts",
  embedded: "packages/embedded/src/main.ts",
  // Operator CLI (dead letters, parked outbox rows), run inside the image: node dist/parley-events.js
  "parley-events": "packages/platform/src/cli/parley-events.ts",
};

const external = ["uWebSockets.js", "@node-rs/argon2", "@electric-sql/pglite", "@electric-sql/pglite/*", "pg-native"];

/** Matches `new URL("../x", import.meta.url)`, the only way workspace code names files beside it. */
const ASSET_URL = /new URL\(\s*(["'])(\.{1,2}\/[^"']*)\1\s*,\s*import\.meta\.url\s*\)/g;

const rebaseAssetUrls = {
  name: "rebase-asset-urls",
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, (args) => {
      if (args.path.includes("/node_modules/")) return undefined;
      const source = readFileSync(args.path, "utf8");
      if (!source.includes("import.meta.url")) return { contents: source, loader: "ts" };
      const contents = source.replace(ASSET_URL, (_m, _q, rel) => {
        const target = resolve(dirname(args.path), rel);
        let fromDist = relative(outdir, target) + (rel.endsWith("/") ? "/" : "");
        if (!fromDist.startsWith(".")) fromDist = `./${fromDist}`;
        return `new URL(${JSON.stringify(fromDist)}, import.meta.url)`;
      });
      return { contents, loader: "ts" };
    });
  },
};

export async function buildAll({ quiet = false } = {}) {
  const started = Date.now();
  rmSync(outdir, { recursive: true, force: true });
  const result = await build({
    absWorkingDir: root,
    entryPoints: Object.fromEntries(Object.entries(entries).map(([name, path]) => [name, resolve(root, path)])),
    outdir,
    bundle: true,
    splitting: true, // the five bundles share platform code as chunks instead of five copies
    format: "esm",
    platform: "node",
    target: "node20",
    sourcemap: true, // stack traces in logs point at the TypeScript line
    external,
    plugins: [rebaseAssetUrls],
    // Chunks sit beside the entry bundles: the rebased asset URLs are relative to dist/ itself.
    chunkNames: "chunk-[hash]",
    // Bundled CommonJS dependencies (pg, ioredis, pino, …) call require() for Node built-ins.
    banner: { js: 'import { createRequire as __parleyCreateRequire } from "node:module"; const require = __parleyCreateRequire(import.meta.url);' },
    legalComments: "linked",
    metafile: true,
    logLevel: quiet ? "error" : "warning",
  });
  writeFileSync(resolve(outdir, "meta.json"), JSON.stringify(result.metafile));
  writeFileSync(resolve(outdir, "package.json"), `${JSON.stringify({ type: "module" })}\n`);
  if (!quiet) {
    const bytes = Object.entries(result.metafile.outputs).filter(([f]) => f.endsWith(".js")).reduce((n, [, o]) => n + o.bytes, 0);
    process.stdout.write(`build: ${Object.keys(entries).join(", ")} → dist/ (${(bytes / 1e6).toFixed(1)} MB JS) in ${Date.now() - started} ms\n`);
  }
  return result;
}

/** The bundle a service runs, or an error naming the command that makes it. */
export function distEntry(service) {
  const file = resolve(outdir, `${service}.js`);
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`pnpm build\` (or \`make build\`) first`);
  return file;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await buildAll().catch((err) => {
    process.stderr.write(`build failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
