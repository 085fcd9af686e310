#!/bin/sh
# Picks the Parley service from the first argument or PARLEY_SERVICE and replaces this shell
# with node running its compiled bundle (dist/<service>.js, made by `pnpm build`), so SIGTERM
# from Kubernetes reaches the service's drain handler directly and nothing compiles at start.
set -eu
svc="${1:-${PARLEY_SERVICE:-}}"
case "$svc" in
  identity|chat|notification|realtime|embedded) ;;
  *)
    echo "usage: parley-entrypoint <identity|chat|notification|realtime|embedded> (or set PARLEY_SERVICE)" >&2
    exit 64
    ;;
esac
export PARLEY_SERVICE="$svc"
app="${PARLEY_APP_DIR:-/app}"
cd "$app"
entry="dist/$svc.js"
if [ ! -f "$entry" ]; then
  echo "parley-entrypoint: $app/$entry is missing; build it with \`pnpm build\` (or \`make build\`) in $app" >&2
  exit 66
fi
# Source maps make stack traces in logs name the TypeScript file and line.
exec node --enable-source-maps "$entry"
