#!/usr/bin/env bash
# Stops the members started by cluster/start.sh (SIGTERM, then SIGKILL after a grace period).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
[ -f "$root/dist/cluster/cli.js" ] || (cd "$root" && npm run --silent build)
exec node "$root/dist/cluster/cli.js" stop
