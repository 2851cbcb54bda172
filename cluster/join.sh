#!/usr/bin/env bash
# Adds a member to the running local cluster (MemberAdd through its endpoints) and starts it
# in the background on free ports with --initial-cluster-state existing:
#   cluster/join.sh n4            # a voter
#   cluster/join.sh n5 --learner  # a learner; promote it with etcdctl member promote <id>
# DATA_DIR (default ./data) holds its data, log and pid file; cluster/stop.sh stops it too.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
[ -f "$root/dist/cluster/cli.js" ] || (cd "$root" && npm run --silent build)
exec node "$root/dist/cluster/cli.js" join "$@"
