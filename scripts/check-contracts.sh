#!/usr/bin/env bash
# The contract gate: protos lint clean, gen/ is exactly what buf generates, and
# no change breaks wire or source compatibility against main (or, on main
# itself, against the previous commit).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
buf lint
buf generate
if git rev-parse --git-dir >/dev/null 2>&1; then
  if ! git diff --quiet -- gen || [ -n "$(git ls-files --others --exclude-standard gen)" ]; then
    echo "check-contracts: gen/ is stale; run 'make gen' and commit the result" >&2
    git status --short gen >&2
    exit 1
  fi
  branch=$(git rev-parse --abbrev-ref HEAD)
  if [ "$branch" != "main" ] && git rev-parse --verify -q main >/dev/null; then
    against=".git#branch=main"
  elif git rev-parse --verify -q HEAD~1 >/dev/null; then
    against=".git#ref=HEAD~1"
  else
    against=""
  fi
  if [ -n "$against" ] && git ls-tree -r --name-only "${against#*=}" -- proto 2>/dev/null | grep -q .; then
    buf breaking --against "$against"
  fi
fi
echo "check-contracts: ok" >&2
