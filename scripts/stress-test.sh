#!/usr/bin/env bash
# Runs the README's test command N times in a row while every core is kept
# busy by a CPU burner, to show the suite's verdicts do not depend on how
# fast a loaded machine is (issue 16).
#
#   scripts/stress-test.sh          # 5 runs
#   scripts/stress-test.sh 3 ./service/...   # 3 runs of a subset (args go to scripts/test.sh)
#
# The burner is stress-ng (installed with apt as root when missing), one CPU
# worker per core, started before the first run and stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
shift || true

log() { echo "stress-test: $*" >&2; }

if ! command -v stress-ng >/dev/null 2>&1; then
  if [[ $(id -u) -ne 0 ]]; then
    log "stress-ng is missing: apt-get install -y stress-ng"; exit 1
  fi
  log "installing stress-ng with apt"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq stress-ng >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq stress-ng >/dev/null; }
fi

cores=$(nproc)
stress-ng --cpu "$cores" --cpu-method matrixprod --quiet &
burner=$!
trap 'kill "$burner" 2>/dev/null || true; wait "$burner" 2>/dev/null || true' EXIT
log "burning $cores cores (stress-ng pid $burner)"

passed=0
for i in $(seq "$runs"); do
  start=$(date +%s)
  if scripts/test.sh "$@" >"/tmp/stress-test-run-$i.log" 2>&1; then
    passed=$((passed + 1)); verdict=green
  else
    verdict="RED (log: /tmp/stress-test-run-$i.log)"
  fi
  log "run $i/$runs: $verdict in $(( $(date +%s) - start )) s, load $(cut -d' ' -f1-3 /proc/loadavg)"
done
log "$passed/$runs green"
[[ $passed -eq $runs ]]
