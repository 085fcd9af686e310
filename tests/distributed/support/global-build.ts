/**
 * The distributed tests start services the way the image does (deploy/entrypoint.sh →
 * `node dist/<svc>.js`), so they need this checkout's bundles, and the cluster test needs the web
 * client it serves. Built once per vitest run, before any worker starts, so no test file sees
 * dist/ half-written; only with PARLEY_TEST_REAL=1 because every distributed test needs the real
 * backends. The web client is built only when missing (vite takes ~10 s; `make test`'s browser
 * run rebuilds it anyway).
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export default function setup(): void {
  if (process.env.PARLEY_TEST_REAL !== "1") return;
  const root = fileURLToPath(new URL("../../..", import.meta.url));
  const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { cwd: root, stdio: ["ignore", "inherit", "inherit"] });
  run(process.execPath, ["scripts/build.mjs"]);
  if (!existsSync(join(root, "web", "dist", "index.html"))) run("pnpm", ["--filter", "@parley/web", "build"]);
}
