#!/usr/bin/env bash
# Creates (or recreates with --reset) a database and a service login role on
# the throwaway PostgreSQL of scripts/test-services.sh, set up as an operator
# would in production, and prints the environment tenantd needs.
#
#   scripts/test-services.sh start
#   eval "$(service/scripts/local-db.sh)"      # DATABASE_URL, REDIS_ADDR, ADMIN_TOKEN
#   go run ./service/cmd/tenantd serve
set -euo pipefail
cd "$(dirname "$0")/../.."
eval "$(scripts/test-services.sh env)"
DB="${LOCAL_DB:-tenantd_local}"
ROLE="${LOCAL_ROLE:-tenantd_local}"
psql_admin() { psql "$TEST_DATABASE_URL" -v ON_ERROR_STOP=1 -qAt "$@"; }
if [[ "${1:-}" == "--reset" ]]; then
  psql_admin -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null
  # tenant roles are granted to the service role: drop them with it
  for r in $(psql_admin -c "SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles a ON a.oid = m.member WHERE a.rolname = '$ROLE'"); do
    psql_admin -c "DROP ROLE IF EXISTS \"$r\"" >/dev/null
  done
  psql_admin -c "DROP ROLE IF EXISTS $ROLE" >/dev/null
fi
if [[ -z "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'")" ]]; then
  psql_admin -c "CREATE ROLE $ROLE LOGIN NOINHERIT NOSUPERUSER CREATEROLE" >/dev/null
fi
if [[ -z "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$DB'")" ]]; then
  psql_admin -c "CREATE DATABASE $DB" >/dev/null
  psql_admin -c "REVOKE ALL ON DATABASE $DB FROM PUBLIC" >/dev/null
  psql_admin -c "GRANT CONNECT, CREATE ON DATABASE $DB TO $ROLE" >/dev/null
fi
hostport="${TEST_DATABASE_URL#*@}"; hostport="${hostport%%/*}"
echo "export DATABASE_URL='postgres://$ROLE@$hostport/$DB?sslmode=disable'"
echo "export REDIS_ADDR='$TEST_REDIS_ADDR'"
echo "export ADMIN_TOKEN='${ADMIN_TOKEN:-local-admin-token-0123456789abcdef0123}'"
