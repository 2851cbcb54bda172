#!/usr/bin/env bash
# Starts a three-member Cairn cluster on 127.0.0.1 in the background (client ports 2379,
# 22379, 32379; peer ports 2380, 22380, 32380), waits for a leader, prints the endpoints.
# DATA_DIR (default ./data) holds each member's data, log and pid file.
# cluster/start.sh --tls serves https with client certificates (see README, "TLS").
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
[ -f "$root/dist/cluster/cli.js" ] || (cd "$root" && npm run --silent build)
exec node "$root/dist/cluster/cli.js" start "$@"
