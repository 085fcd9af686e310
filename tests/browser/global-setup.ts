import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

/** The embedded server serves web/dist; build it unless told the current build is fresh. */
export default function setup(): void {
  const dist = fileURLToPath(new URL("../../web/dist/index.html", import.meta.url));
  // cluster.test.ts (real backends only) runs the services from their bundles: ~1 s to build.
  if (process.env.PARLEY_TEST_REAL === "1") execFileSync(process.execPath, ["scripts/build.mjs"], { cwd: repoRoot, stdio: "inherit" });
  if (process.env.PARLEY_SKIP_WEB_BUILD === "1" && existsSync(dist)) return;
  execFileSync("pnpm", ["--filter", "@parley/web", "build"], { cwd: repoRoot, stdio: "inherit" });
}
