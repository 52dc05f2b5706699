#!/usr/bin/env bash
# Throwaway PostgreSQL and Redis for the service tests, on loopback only.
#
#   scripts/test-services.sh start   # idempotent; recovers from a crashed run
#   scripts/test-services.sh env     # prints export lines: eval "$(scripts/test-services.sh env)"
#   scripts/test-services.sh stop    # stops both and removes every file it made, nothing else
#   scripts/test-services.sh status
#
# One instance lives in one state directory: TEST_SERVICES_DIR, default
# /dev/shm/tenantco-test-services. scripts/test.sh gives every run a private
# directory of its own, so two runs (two checkouts, a benchmark beside the
# tests) never stop each other's servers.
#
# Ports: TEST_PG_PORT / TEST_REDIS_PORT when set; otherwise free ports are
# picked at start BELOW Linux's ephemeral range (ip_local_port_range), where no
# outgoing connection's TIME-WAIT can hold them, and recorded in the state
# directory for `env`. A port that still cannot be bound is named with the
# server's own reason; a picked one is retried on another port.
#
# The state directory is only ever cleaned when it carries this script's
# marker file: a directory that is not empty and was not made here is refused,
# never deleted.
#
# Runs as root (PostgreSQL runs as the postgres user via runuser) or as an
# ordinary user (then PostgreSQL runs as that user). Installs postgresql and
# redis-server with apt when they are missing and we are root.
set -euo pipefail

if [[ -d /dev/shm && -w /dev/shm ]]; then base=/dev/shm; else base="${TMPDIR:-/tmp}"; fi
STATE="${TEST_SERVICES_DIR:-$base/tenantco-test-services}"
MARKER="$STATE/.tenantco-test-services"
PORTS="$STATE/ports"
PGDATA="$STATE/pg"
REDIS_DIR="$STATE/redis"

log() { echo "test-services: $*" >&2; }
die() { log "$*"; exit 1; }

pg_bindir() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [[ -x "$d/pg_ctl" ]] && { echo "$d"; return 0; }
  done
  if command -v pg_ctl >/dev/null 2>&1; then dirname "$(command -v pg_ctl)"; return 0; fi
  return 1
}

ensure_installed() {
  local need=()
  pg_bindir >/dev/null || need+=(postgresql)
  command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
  ((${#need[@]} == 0)) && return 0
  if [[ $(id -u) -ne 0 ]]; then
    die "missing ${need[*]}; install them (apt-get install -y ${need[*]}) and retry"
  fi
  log "installing ${need[*]} with apt"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq "${need[@]}" >/dev/null
  # Debian's packages may start system-wide servers; we do not use them.
}

as_pg() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# --- the state directory: ours only when it carries the marker ---------------

owned() { [[ -f "$MARKER" ]]; }

claim_state() {
  if [[ -e "$STATE" && ! -d "$STATE" ]]; then
    die "TEST_SERVICES_DIR=$STATE is not a directory; point it at a new or empty directory"
  fi
  if [[ -d "$STATE" ]] && ! owned && [[ -n "$(ls -A "$STATE")" ]]; then
    die "TEST_SERVICES_DIR=$STATE is not empty and was not made by this script (no $(basename "$MARKER")); refusing to use or delete it: point TEST_SERVICES_DIR at a new or empty directory"
  fi
  local made=0
  [[ -d "$STATE" ]] || { mkdir -p "$STATE"; made=1; }
  chmod 755 "$STATE"
  owned || echo "made_dir=$made" >"$MARKER"
}

# --- ports ---------------------------------------------------------------------

# port_busy PORT: any socket (listening, connected or in TIME-WAIT) on it.
port_busy() {
  if command -v ss >/dev/null 2>&1; then
    [[ -n "$(ss -Htan "( sport = :$1 )" 2>/dev/null)" ]]
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
  fi
}

# pick_port: a free port below the ephemeral range (above it when the range
# starts too low to leave room).
pick_port() {
  local lo=32768 hi=60999 from to p _
  read -r lo hi </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
  if ((lo > 12000)); then from=10000 to=$((lo - 1)); else from=$((hi + 1)) to=65535; fi
  for _ in $(seq 200); do
    p=$((from + RANDOM % (to - from + 1)))
    port_busy "$p" || { echo "$p"; return 0; }
  done
  die "no free port found in $from-$to"
}

save_ports() { printf 'PG_PORT=%s\nREDIS_PORT=%s\n' "$PG_PORT" "$REDIS_PORT" >"$PORTS"; }

load_ports() {
  PG_PORT="" REDIS_PORT=""
  if [[ -f "$PORTS" ]]; then
    # shellcheck disable=SC1090
    source "$PORTS"
  fi
}

# --- servers -------------------------------------------------------------------

pg_running() {
  local bin; bin="$(pg_bindir)" || return 1
  [[ -n "${PG_PORT:-}" && -f "$PGDATA/PG_VERSION" ]] &&
    as_pg "$bin/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1 &&
    "$bin/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" >/dev/null 2>&1
}

redis_running() {
  [[ -n "${REDIS_PORT:-}" && -f "$REDIS_DIR/redis.pid" ]] && command -v redis-cli >/dev/null 2>&1 &&
    [[ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]]
}

stop_servers() {
  local bin pid
  if bin="$(pg_bindir)" && [[ -f "$PGDATA/PG_VERSION" ]]; then
    as_pg "$bin/pg_ctl" -D "$PGDATA" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  if [[ -f "$PGDATA/postmaster.pid" ]]; then # pg_ctl could not stop it (e.g. corrupt dir)
    pid="$(head -1 "$PGDATA/postmaster.pid" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] && kill -9 "$pid" 2>/dev/null || true
  fi
  if [[ -f "$REDIS_DIR/redis.pid" ]]; then
    pid="$(cat "$REDIS_DIR/redis.pid" 2>/dev/null || true)"
    if [[ "$pid" =~ ^[0-9]+$ ]]; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
      kill -9 "$pid" 2>/dev/null || true
    fi
  fi
  rm -rf "$PGDATA" "$REDIS_DIR" "$STATE/initdb.log" "$PORTS"
}

stop() {
  if [[ ! -d "$STATE" ]]; then return 0; fi
  if ! owned; then
    log "$STATE was not made by this script (no $(basename "$MARKER")): nothing stopped, nothing removed"
    return 0
  fi
  stop_servers
  local made_dir=0
  # shellcheck disable=SC1090
  source "$MARKER"
  rm -f "$MARKER"
  if [[ "$made_dir" == 1 ]]; then rmdir "$STATE" 2>/dev/null || log "left $STATE: it holds files this script did not make"; fi
}

# start_pg: init once, then start on PG_PORT; a picked port that turns out to
# be taken is replaced (up to 5 tries), a given one is reported.
start_pg() {
  local bin try reason; bin="$(pg_bindir)"
  if [[ $(id -u) -eq 0 ]]; then install -d -o postgres -g postgres -m 700 "$PGDATA"; else install -d -m 700 "$PGDATA"; fi
  as_pg "$bin/initdb" -D "$PGDATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$STATE/initdb.log" 2>&1 ||
    { cat "$STATE/initdb.log" >&2; return 1; }
  cat >>"$PGDATA/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$PGDATA'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 300
dynamic_shared_memory_type = mmap
shared_buffers = 256MB
CONF
  for try in 1 2 3 4 5; do
    echo "port = $PG_PORT" >>"$PGDATA/postgresql.conf" # the last setting wins
    save_ports
    if as_pg "$bin/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -w -t 60 start >/dev/null 2>&1; then return 0; fi
    reason="$(grep -m1 -E 'could not (bind|create listen)|Address already in use' "$PGDATA/server.log" || true)"
    if [[ -z "$reason" ]]; then cat "$PGDATA/server.log" >&2; die "PostgreSQL did not start on 127.0.0.1:$PG_PORT (log above)"; fi
    if [[ -n "${TEST_PG_PORT:-}" || $try -eq 5 ]]; then
      die "PostgreSQL could not listen on 127.0.0.1:$PG_PORT: $reason (set TEST_PG_PORT to a free port, or unset it to pick one)"
    fi
    log "PostgreSQL could not listen on 127.0.0.1:$PG_PORT ($reason); trying another port"
    PG_PORT="$(pick_port)"
  done
}

start_redis() {
  local try reason
  mkdir -p "$REDIS_DIR"
  for try in 1 2 3 4 5; do
    save_ports
    rm -f "$REDIS_DIR/redis.log"
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes \
      --dir "$REDIS_DIR" --pidfile "$REDIS_DIR/redis.pid" --logfile "$REDIS_DIR/redis.log" \
      --save '' --appendonly no --protected-mode yes >/dev/null || true
    for _ in $(seq 100); do
      redis_running && return 0
      grep -q -E 'Could not create server TCP|Address already in use' "$REDIS_DIR/redis.log" 2>/dev/null && break
      sleep 0.05
    done
    reason="$(grep -m1 -E 'Could not create server TCP|Address already in use' "$REDIS_DIR/redis.log" 2>/dev/null || true)"
    if [[ -z "$reason" ]]; then cat "$REDIS_DIR/redis.log" >&2 2>/dev/null || true; die "Redis did not answer on 127.0.0.1:$REDIS_PORT (log above)"; fi
    if [[ -n "${TEST_REDIS_PORT:-}" || $try -eq 5 ]]; then
      die "Redis could not listen on 127.0.0.1:$REDIS_PORT: $reason (set TEST_REDIS_PORT to a free port, or unset it to pick one)"
    fi
    log "Redis could not listen on 127.0.0.1:$REDIS_PORT ($reason); trying another port"
    REDIS_PORT="$(pick_port)"
  done
}

start() {
  ensure_installed
  claim_state
  load_ports
  if pg_running && redis_running; then log "already running (PostgreSQL :$PG_PORT, Redis :$REDIS_PORT, state in $STATE)"; return 0; fi
  stop_servers # a half-started or crashed run: start from nothing
  PG_PORT="${TEST_PG_PORT:-$(pick_port)}"
  REDIS_PORT="${TEST_REDIS_PORT:-$(pick_port)}"
  while [[ "$REDIS_PORT" == "$PG_PORT" ]]; do REDIS_PORT="$(pick_port)"; done
  start_pg
  start_redis
  log "PostgreSQL on 127.0.0.1:$PG_PORT, Redis on 127.0.0.1:$REDIS_PORT (state in $STATE)"
}

env_lines() {
  load_ports
  if [[ -z "$PG_PORT" || -z "$REDIS_PORT" ]]; then
    die "not started in $STATE: run scripts/test-services.sh start (with the same TEST_SERVICES_DIR)"
  fi
  echo "export TEST_DATABASE_URL='postgres://postgres@127.0.0.1:$PG_PORT/postgres?sslmode=disable'"
  echo "export TEST_REDIS_ADDR='127.0.0.1:$REDIS_PORT'"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  env) env_lines ;;
  status) load_ports; if pg_running && redis_running; then echo "running (PostgreSQL :$PG_PORT, Redis :$REDIS_PORT)"; else echo stopped; exit 1; fi ;;
  *) echo "usage: $0 start|stop|env|status" >&2; exit 2 ;;
esac
