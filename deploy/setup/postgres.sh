#!/usr/bin/env bash
# Makes sure a PostgreSQL server is installed (Debian package; only the `postgres` profile needs it)
# and prints its bin directory. deploy/stack runs its own cluster in the run directory; the
# package's default cluster on port 5432 is left alone.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

log="$LOG_DIR/postgres-setup.log"

# The newest installed server's bin directory, or nothing.
bin_dir() {
  local servers=(/usr/lib/postgresql/*/bin/postgres)
  [[ -x ${servers[0]} ]] || return 1
  printf '%s\n' "${servers[@]%/postgres}" | sort -t/ -k5,5n | tail -n 1
}

if ! dir=$(bin_dir); then
  command -v apt-get >/dev/null || fail postgres "$log" "no PostgreSQL server and no apt-get: install PostgreSQL 15+"
  [[ $(id -u) == 0 ]] || fail postgres "$log" "no PostgreSQL server found; run this script as root to install it"
  : >"$log"
  export DEBIAN_FRONTEND=noninteractive
  say "postgres: installing the postgresql package (log: $log)"
  # The package lists may be missing or stale on a fresh machine: refresh only when needed.
  if ! with_progress postgres "$log" apt-get install -y --no-install-recommends postgresql; then
    with_progress postgres "$log" apt-get update \
      && with_progress postgres "$log" apt-get install -y --no-install-recommends postgresql \
      || fail postgres "$log" "apt-get install postgresql failed"
  fi
  dir=$(bin_dir) || fail postgres "$log" "postgresql installed, but no server in /usr/lib/postgresql/*/bin"
fi
echo "$dir"
