#!/usr/bin/env bash
# The project's test command (README): starts a throwaway PostgreSQL and Redis
# on loopback, runs every Go test against them, and stops them again.
#   scripts/test.sh                 # go test ./...
#   scripts/test.sh -run Isolation ./service/...   # extra args go to go test
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/test-services.sh start
trap 'scripts/test-services.sh stop' EXIT
eval "$(scripts/test-services.sh env)"
if [[ $# -eq 0 ]]; then set -- ./...; fi
go test -count=1 "$@"
