#!/usr/bin/env bash
# Browser tests drive Debian's Chromium through playwright-core; no browser is
# downloaded by any npm package.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
echo "ensure-chromium: installing Debian's chromium" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq chromium >/dev/null
