import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

/** The embedded server serves web/dist; build it unless told the current build is fresh. */
export default function setup(): void {
  const dist = fileURLToPath(new URL("../../web/dist/index.html", import.meta.url));
  if (process.env.PARLEY_SKIP_WEB_BUILD === "1" && existsSync(dist)) return;
  execFileSync("pnpm", ["--filter", "@parley/web", "build"], { cwd: repoRoot, stdio: "inherit" });
}
