#!/usr/bin/env bash
# Throwaway PostgreSQL and Redis for the service tests, on loopback only.
#
#   scripts/test-services.sh start   # idempotent; recovers from a crashed run
#   scripts/test-services.sh env     # prints export lines: eval "$(scripts/test-services.sh env)"
#   scripts/test-services.sh stop    # stops both and removes every file it made
#
# Runs as root (PostgreSQL runs as the postgres user via runuser) or as an
# ordinary user (then PostgreSQL runs as that user). Installs postgresql and
# redis-server with apt when they are missing and we are root.
set -euo pipefail

PG_PORT="${TEST_PG_PORT:-55432}"
REDIS_PORT="${TEST_REDIS_PORT:-56379}"
if [[ -d /dev/shm && -w /dev/shm ]]; then base=/dev/shm; else base="${TMPDIR:-/tmp}"; fi
STATE="${TEST_SERVICES_DIR:-$base/tenantco-test-services}"
PGDATA="$STATE/pg"
REDIS_DIR="$STATE/redis"

log() { echo "test-services: $*" >&2; }

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
    log "missing ${need[*]}; install them (apt-get install -y ${need[*]}) and retry"; exit 1
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

pg_running() {
  local bin; bin="$(pg_bindir)" || return 1
  [[ -f "$PGDATA/PG_VERSION" ]] && as_pg "$bin/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1 &&
    "$bin/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" >/dev/null 2>&1
}

redis_running() {
  command -v redis-cli >/dev/null 2>&1 &&
    [[ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]] &&
    [[ -f "$REDIS_DIR/redis.pid" ]]
}

stop() {
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
  rm -rf "$STATE"
}

start_pg() {
  local bin; bin="$(pg_bindir)"
  mkdir -p "$STATE"; chmod 755 "$STATE"
  if [[ $(id -u) -eq 0 ]]; then install -d -o postgres -g postgres -m 700 "$PGDATA"; else install -d -m 700 "$PGDATA"; fi
  as_pg "$bin/initdb" -D "$PGDATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$STATE/initdb.log" 2>&1 ||
    { cat "$STATE/initdb.log" >&2; return 1; }
  cat >>"$PGDATA/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PGDATA'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 300
dynamic_shared_memory_type = mmap
shared_buffers = 256MB
CONF
  as_pg "$bin/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -w -t 60 start >/dev/null ||
    { cat "$PGDATA/server.log" >&2; return 1; }
}

start_redis() {
  mkdir -p "$REDIS_DIR"
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes \
    --dir "$REDIS_DIR" --pidfile "$REDIS_DIR/redis.pid" --logfile "$REDIS_DIR/redis.log" \
    --save '' --appendonly no --protected-mode yes >/dev/null
  for _ in $(seq 100); do
    [[ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]] && return 0
    sleep 0.05
  done
  log "redis did not answer on 127.0.0.1:$REDIS_PORT"; cat "$REDIS_DIR/redis.log" >&2 || true; return 1
}

start() {
  ensure_installed
  if pg_running && redis_running; then log "already running"; return 0; fi
  stop # a half-started or crashed run: start from nothing
  start_pg
  start_redis
  log "PostgreSQL on 127.0.0.1:$PG_PORT, Redis on 127.0.0.1:$REDIS_PORT (state in $STATE)"
}

env_lines() {
  echo "export TEST_DATABASE_URL='postgres://postgres@127.0.0.1:$PG_PORT/postgres?sslmode=disable'"
  echo "export TEST_REDIS_ADDR='127.0.0.1:$REDIS_PORT'"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  env) env_lines ;;
  status) if pg_running && redis_running; then echo running; else echo stopped; exit 1; fi ;;
  *) echo "usage: $0 start|stop|env|status" >&2; exit 2 ;;
esac
