#!/bin/bash
# PostgreSQL's start in this image. At the first start (no $PGDATA/PG_VERSION): initdb with the
# superuser's password (POSTGRES_PASSWORD), password authentication for network clients, then
# the scripts of /docker-entrypoint-initdb.d (*.sql, *.sql.gz, *.sh) in name order against a
# server that listens on its socket only. Then the server itself, as PID 1.
#   postgres-entrypoint.sh [postgres] [-c name=value ...]   (any other command is run as is)
set -euo pipefail

die() { echo "postgres entrypoint: $*" >&2; exit 2; }
say() { echo "postgres entrypoint: $*" >&2; }

if [[ "${1:-postgres}" == -* ]]; then set -- postgres "$@"; fi
if [[ "${1:-postgres}" != postgres ]]; then exec "$@"; fi
shift || true

: "${PGDATA:?PGDATA is not set}"
superuser=${POSTGRES_USER:-postgres}
socket_dir=/var/run/postgresql

run_init_scripts() {
  local script
  local psql=(psql -v ON_ERROR_STOP=1 --no-psqlrc --quiet --host "$socket_dir"
    --username "$superuser" --dbname "${POSTGRES_DB:-$superuser}")
  for script in /docker-entrypoint-initdb.d/*; do
    [[ -e "$script" ]] || continue
    case "$script" in
      *.sql) say "running $script"; "${psql[@]}" -f "$script" ;;
      *.sql.gz) say "running $script"; gunzip -c "$script" | "${psql[@]}" ;;
      *.sh) say "running $script"; bash "$script" ;;
      *) say "ignoring $script (not .sql, .sql.gz or .sh)" ;;
    esac
  done
}

first_start() {
  [[ -n "${POSTGRES_PASSWORD:-}" ]] \
    || die "POSTGRES_PASSWORD is empty: the first start sets the superuser's password with it"
  mkdir -p "$PGDATA" || die "cannot create $PGDATA as uid $(id -u): use a directory it may write"
  chmod 0700 "$PGDATA" || die "cannot own $PGDATA as uid $(id -u): give PGDATA a subdirectory of the volume"
  say "first start: initdb in $PGDATA"
  local pwfile
  pwfile=$(mktemp)
  printf '%s' "$POSTGRES_PASSWORD" >"$pwfile"
  # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of options
  initdb --username="$superuser" --pwfile="$pwfile" ${POSTGRES_INITDB_ARGS:-} >&2
  rm -f "$pwfile"
  printf '\n# Added at the first start: network clients with a password.\nhost all all all %s\n' \
    "${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}" >>"$PGDATA/pg_hba.conf"
  printf "\nlisten_addresses = '*'\n" >>"$PGDATA/postgresql.conf"

  pg_ctl --pgdata="$PGDATA" --wait --silent \
    --options="-c listen_addresses='' -c unix_socket_directories=$socket_dir" start >&2
  export PGPASSWORD="$POSTGRES_PASSWORD"
  if [[ -n "${POSTGRES_DB:-}" && "$POSTGRES_DB" != "$superuser" ]]; then
    psql -v ON_ERROR_STOP=1 --no-psqlrc --quiet --host "$socket_dir" --username "$superuser" \
      --dbname postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
  fi
  run_init_scripts
  unset PGPASSWORD
  pg_ctl --pgdata="$PGDATA" --wait --silent --mode=fast stop >&2
  say "first start: done"
}

[[ -s "$PGDATA/PG_VERSION" ]] || first_start
exec postgres "$@"
