#!/usr/bin/env bash
# Installs what the two README commands need on a fresh machine: pnpm and the
# workspace dependencies (buf comes from the npm registry as @bufbuild/buf).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v pnpm >/dev/null 2>&1; then
  echo "setup: installing pnpm" >&2
  npm install -g pnpm@10 >/dev/null
fi
# --frozen-lockfile: CI and newcomers get exactly the committed dependency tree.
pnpm install --frozen-lockfile --reporter=append-only 2>&1 | tail -n 3
