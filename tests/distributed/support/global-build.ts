/**
 * The distributed tests start services the way the image does (deploy/entrypoint.sh →
 * `node dist/<svc>.js`), so they need this checkout's bundles. Built once per vitest run, before
 * any worker starts, so no test file sees dist/ half-written; only with PARLEY_TEST_REAL=1
 * because every distributed test needs the real backends.
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

export default function setup(): void {
  if (process.env.PARLEY_TEST_REAL !== "1") return;
  const root = fileURLToPath(new URL("../../..", import.meta.url));
  execFileSync(process.execPath, ["scripts/build.mjs"], { cwd: root, stdio: ["ignore", "inherit", "inherit"] });
}
