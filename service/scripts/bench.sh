#!/usr/bin/env bash
# The benchmarks of service/BENCHMARKS.md, measured side by side in one run on
# this machine, with the load tool (service/cmd/loadtest):
#
#   service/scripts/bench.sh            # ~15 min; prints a summary, keeps every RESULT line
#
# It starts a private PostgreSQL + Redis (scripts/test-services.sh, its own
# TEST_SERVICES_DIR), makes two databases with their own service role -- one
# holding 1,000 tenants, one 10,000, created directly by the load tool with the
# service's onboarding code (-db-tenants) -- and runs five servers at once:
# this checkout and the "before" commit against both databases, and the
# benchmark-only build without the tenant switch (-tags benchnoscope) against
# the 1,000-tenant one. Rounds alternate between the servers so that the
# machine's background load (other builds; the load average is recorded with
# every run) falls on all of them alike; the summary gives medians and ratios.
#
# Environment: BEFORE (commit, default 8899793), ROUNDS (5), RUN_SECONDS (10),
# OUT (output
# directory), OVERLOAD_SECONDS (60), DB_MAX_CONNS (24), TEST_SERVICES_DIR
# (default /dev/shm/tenantd-bench), ALL_ACTIVE=1 adds a run driving all
# 10,000 tenants, BIG (10000; smaller only for a quick trial of the script).
set -euo pipefail
cd "$(dirname "$0")/../.."
BEFORE="${BEFORE:-8899793}"
ROUNDS="${ROUNDS:-5}"
RUN_SECONDS="${RUN_SECONDS:-10}"
OUT="${OUT:-/tmp/tenantd-bench-$(date +%Y%m%d-%H%M%S)}"
OVERLOAD_SECONDS="${OVERLOAD_SECONDS:-60}"
BIG="${BIG:-10000}"
export DB_MAX_CONNS="${DB_MAX_CONNS:-24}"
if [[ -d /dev/shm && -w /dev/shm ]]; then base=/dev/shm; else base="${TMPDIR:-/tmp}"; fi
export TEST_SERVICES_DIR="${TEST_SERVICES_DIR:-$base/tenantd-bench}"
export ADMIN_TOKEN="${ADMIN_TOKEN:-bench-admin-token-0123456789abcdef0123456789}"
mkdir -p "$OUT/bin" "$OUT/logs"
RESULTS="$OUT/results.txt"
: >"$RESULTS"
say() { echo "== $*" | tee -a "$RESULTS"; }

pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do while kill -0 "$p" 2>/dev/null; do sleep 0.1; done; done
  scripts/test-services.sh stop
}
trap cleanup EXIT

say "build: this checkout ($(git rev-parse --short HEAD)$(git diff --quiet HEAD -- service || echo ', with uncommitted changes')), before = $BEFORE, benchnoscope"
go build -o "$OUT/bin/tenantd" ./service/cmd/tenantd
go build -tags benchnoscope -o "$OUT/bin/tenantd-noscope" ./service/cmd/tenantd
go build -o "$OUT/bin/loadtest" ./service/cmd/loadtest
rm -rf "$OUT/before-src" && mkdir -p "$OUT/before-src"
git archive "$BEFORE" | tar -x -C "$OUT/before-src"
(cd "$OUT/before-src" && go build -o "$OUT/bin/tenantd-before" ./service/cmd/tenantd)
LT="$OUT/bin/loadtest"

scripts/test-services.sh start
PG_PID="$(head -1 "$TEST_SERVICES_DIR/pg/postmaster.pid")"
REDIS_PID="$(cat "$TEST_SERVICES_DIR/redis/redis.pid")"
eval "$(scripts/test-services.sh env)"
export REDIS_ADDR="$TEST_REDIS_ADDR"

declare -A DBURL
for n in 1000 "$BIG"; do
  eval "$(LOCAL_DB="bench_$n" LOCAL_ROLE="bench_$n" service/scripts/local-db.sh --reset 2>/dev/null)"
  DBURL[$n]="$DATABASE_URL"
  rm -f "$OUT/state-$n.jsonl"
  say "setup: $n tenants in bench_$n, created directly (loadtest -db-tenants)"
  "$LT" -mode onboard -samples 0 -db-tenants "$n" -onboard-workers 4 -database-url "${DBURL[$n]}" -state "$OUT/state-$n.jsonl" | grep -E 'onboarded .* directly' | tee -a "$RESULTS"
done

say "finding: PostgreSQL CPU of a tenant switch (SET ROLE) by tenant count"
for n in 1000 "$BIG"; do "$LT" -mode rolecache -database-url "${DBURL[$n]}" | grep RESULT | tee -a "$RESULTS"; done

declare -A PORT PID DB
start() { # name binary port tenants [env...]
  local name=$1 bin=$2 port=$3 n=$4
  shift 4
  env DATABASE_URL="${DBURL[$n]}" LISTEN_ADDR="127.0.0.1:$port" LOG_LEVEL=warn \
    TIER_LIMITS='enterprise=rate:1000000,burst:1000000' "$@" "$bin" serve >"$OUT/logs/$name.log" 2>&1 &
  PID[$name]=$!
  pids+=("$!")
  PORT[$name]=$port
  DB[$name]=$n
  for _ in $(seq 300); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && return 0; sleep 0.1; done
  echo "server $name did not start:" >&2
  cat "$OUT/logs/$name.log" >&2
  exit 1
}
start after-1k "$OUT/bin/tenantd" 18281 1000
start after-10k "$OUT/bin/tenantd" 18282 "$BIG"
start before-1k "$OUT/bin/tenantd-before" 18283 1000
start before-10k "$OUT/bin/tenantd-before" 18284 "$BIG"
start noscope-1k "$OUT/bin/tenantd-noscope" 18285 1000
SERVERS=(after-1k after-10k before-1k before-10k noscope-1k)

run() { # label server [loadtest args...]; prints the RESULT line prefixed by label and server
  local label=$1 s=$2
  shift 2
  local n=${DB[$s]}
  local line
  line="$("$LT" -url "http://127.0.0.1:${PORT[$s]}" -database-url "${DBURL[$n]}" -state "$OUT/state-$n.jsonl" \
    -tenants 1000 -watch "tenantd=${PID[$s]},postgres=$PG_PID+,redis=$REDIS_PID" "$@" 2>&1 | grep -E 'RESULT|loadtest:' | tr '\n' ' ')"
  echo "$label $s $line" | tee -a "$RESULTS"
}

say "warm-up: 20 s at 96 users per server (fills catalog caches and prepared statements; not reported)"
for s in "${SERVERS[@]}"; do "$LT" -url "http://127.0.0.1:${PORT[$s]}" -state "$OUT/state-${DB[$s]}.jsonl" -tenants 1000 -users 96 -duration 20s >/dev/null; done

inflight=$((DB_MAX_CONNS / 2)) # tenantd's default MAX_IN_FLIGHT
say "rounds ($ROUNDS): 1,000 closed-loop users over 1,000 tenants on each server in turn, ${RUN_SECONDS} s after 5 s; then the capacity of after-10k: closed loop with as many users as it admits at once ($inflight, no shedding)"
for r in $(seq "$ROUNDS"); do
  for s in "${SERVERS[@]}"; do run "closed$r" "$s" -users 1000 -warmup 5s -duration "${RUN_SECONDS}s"; done
  run "capacity$r" after-10k -users "$inflight" -warmup 5s -duration "${RUN_SECONDS}s"
done
cap="$(grep -E '^capacity[0-9]+ ' "$RESULTS" | sed -E 's/.* goodput=([0-9]+).*/\1/' | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')"
rate=$((2 * cap))
say "overload: open loop at 2 x capacity = $rate req/s for ${OVERLOAD_SECONDS} s, 10,000 tenants in the database"
for s in after-10k before-10k; do
  run overload "$s" -rate "$rate" -warmup 5s -duration "${OVERLOAD_SECONDS}s"
done
say "capacity again after the overload runs (has the machine changed?)"
run capacity-after after-10k -users "$inflight" -warmup 5s -duration "${RUN_SECONDS}s"

if [[ "${ALL_ACTIVE:-}" == 1 ]]; then
  say "working set: all 10,000 tenants active vs 1,000 (after), 100 users"
  run active after-1k -users 100 -warmup 20s -duration 15s
  run active after-10k -users 100 -tenants "$BIG" -warmup 20s -duration 15s
fi

say "peak RSS of each server over the whole run (VmHWM)"
for s in "${SERVERS[@]}"; do echo "hwm $s $(grep VmHWM "/proc/${PID[$s]}/status" | awk '{print $2/1024 " MB"}')" | tee -a "$RESULTS"; done

service/scripts/bench-summary.sh "$RESULTS" | tee "$OUT/summary.txt"
echo "all results: $RESULTS"
