#!/bin/sh
# Picks the Parley service from the first argument or PARLEY_SERVICE and replaces this shell
# with node, so SIGTERM from Kubernetes reaches the service's drain handler directly (tsx's CLI
# would add a second process in between; `node --import tsx` does not).
set -eu
svc="${1:-${PARLEY_SERVICE:-}}"
case "$svc" in
  identity|chat|notification|realtime) entry="services/$svc/src/main.ts" ;;
  embedded) entry="packages/embedded/src/main.ts" ;;
  *)
    echo "usage: parley-entrypoint <identity|chat|notification|realtime|embedded> (or set PARLEY_SERVICE)" >&2
    exit 64
    ;;
esac
export PARLEY_SERVICE="$svc"
cd "${PARLEY_APP_DIR:-/app}"
exec node --import tsx "$entry"
