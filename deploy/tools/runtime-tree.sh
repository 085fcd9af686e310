#!/bin/sh
# Assembles what the runtime image holds, from a checkout where `pnpm build` has run:
#   dist/                      the service bundles (scripts/build.mjs)
#   node_modules/              production deps of the root package only: what the bundles keep
#                              external (uWebSockets.js, @node-rs/argon2, @electric-sql/pglite)
#   services/<svc>/drizzle/    migrations, found by the bundles at the repository's paths
#   web/dist/                  the built web client (WEB_DIST)
# No TypeScript, vitest, playwright, buf or web toolchain. The Dockerfile's build stage runs it
# into /runtime; on a machine without Docker the same command shows (and runs) the image's
# contents:  deploy/tools/runtime-tree.sh /tmp/parley-runtime && du -sh /tmp/parley-runtime
# Needs the pnpm store filled for the lockfile (`pnpm install` or `pnpm fetch` did it): it installs
# with --offline.
set -eu
dest="${1:?usage: runtime-tree.sh <empty destination directory>}"
src="$(cd "$(dirname "$0")/../.." && pwd)"
for need in dist/identity.js dist/embedded.js web/dist/index.html; do
  [ -f "$src/$need" ] || { echo "runtime-tree: $src/$need is missing; run \`pnpm build\` first" >&2; exit 66; }
done
mkdir -p "$dest"
dest="$(cd "$dest" && pwd)"
[ -z "$(ls -A "$dest")" ] || { echo "runtime-tree: $dest is not empty" >&2; exit 64; }

# The lockfile and workspace file make the install exactly the locked versions; --filter=parley
# installs the root package's dependencies and no workspace package.
cp "$src/package.json" "$src/pnpm-lock.yaml" "$src/pnpm-workspace.yaml" "$dest/"
[ -f "$src/.npmrc" ] && cp "$src/.npmrc" "$dest/"
cp -r "$src/patches" "$dest/"
(cd "$dest" && pnpm install --prod --frozen-lockfile --offline --filter=parley --reporter=silent)
rm -rf "$dest/pnpm-lock.yaml" "$dest/pnpm-workspace.yaml" "$dest/.npmrc" "$dest/patches"

# uWebSockets.js ships a binary for every OS, CPU and Node ABI (~100 MB); the image runs one.
uws="$(cd "$dest" && node -p 'require("node:path").dirname(require("node:fs").realpathSync("node_modules/uWebSockets.js/package.json"))')"
keep="uws_$(node -p 'process.platform + "_" + process.arch + "_" + process.versions.modules').node"
[ -f "$uws/binaries/$keep" ] || { echo "runtime-tree: uWebSockets.js has no $keep for this Node" >&2; exit 65; }
find "$uws/binaries" -name 'uws_*.node' ! -name "$keep" -delete

cp -r "$src/dist" "$dest/dist"
rm -f "$dest/dist/meta.json" # build analysis only
for svc in identity chat notification realtime; do
  if [ -d "$src/services/$svc/drizzle" ]; then
    mkdir -p "$dest/services/$svc"
    cp -r "$src/services/$svc/drizzle" "$dest/services/$svc/drizzle"
  fi
done
mkdir -p "$dest/web"
cp -r "$src/web/dist" "$dest/web/dist"
