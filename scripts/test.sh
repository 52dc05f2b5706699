#!/usr/bin/env bash
# The project's test command (README): starts a throwaway PostgreSQL and Redis
# on loopback, runs every Go test against them, and stops them again; then
# the Python unit tests of the dev cost breaker function
# (scripts/test-lambda.sh, python3 + botocore's Stubber).
#   scripts/test.sh                 # go test ./... and the function's tests
#   scripts/test.sh -run Isolation ./service/...   # extra args go to go test (Go only)
#
# Every run gets its own servers in a private directory on free ports (see
# scripts/test-services.sh), so runs from two checkouts, or a run beside a
# benchmark's servers, never collide. TEST_SERVICES_DIR set by the caller
# reuses that instance instead.
set -euo pipefail
cd "$(dirname "$0")/.."
private=""
if [[ -z "${TEST_SERVICES_DIR:-}" ]]; then
  if [[ -d /dev/shm && -w /dev/shm ]]; then base=/dev/shm; else base="${TMPDIR:-/tmp}"; fi
  private="$(mktemp -d "$base/tenantco-test.XXXXXX")"
  export TEST_SERVICES_DIR="$private"
fi
cleanup() {
  scripts/test-services.sh stop
  if [[ -n "$private" ]]; then rmdir "$private" 2>/dev/null || true; fi
}
trap cleanup EXIT
scripts/test-services.sh start
eval "$(scripts/test-services.sh env)"
all=0
if [[ $# -eq 0 ]]; then set -- ./...; all=1; fi
go test -count=1 "$@"
if ((all)); then scripts/test-lambda.sh; fi
