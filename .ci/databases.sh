#!/usr/bin/env bash
# Private PostgreSQL and MariaDB servers for the SQL store tests: installed from Debian's packages
# when missing, data in a temp dir, listening on 127.0.0.1 at free ports, a throwaway user and
# password, stopped and deleted at the end. Tests never mock the database.
#
#   .ci/databases.sh cargo test --test sqlstore   # start both, run the command, stop both
#   source .ci/databases.sh; zoho_db_install; zoho_db_start; trap zoho_db_stop EXIT
#
# zoho_db_start exports ZOHO_AUTH_TEST_POSTGRES_URL and ZOHO_AUTH_TEST_MYSQL_URL (and
# ZOHO_AUTH_TEST_DB_DIR, the temp dir). Needs root (CI runs as root): PostgreSQL runs as the
# `postgres` system user, MariaDB with --user=root.

zoho_db__pg_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && { echo "$d"; return 0; }
  done
  return 1
}

zoho_db__free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Installs postgresql and mariadb-server when missing; quiet and idempotent. The packages' own
# services are not started (a policy-rc.d for the duration of the install).
zoho_db_install() {
  local want=()
  zoho_db__pg_bin >/dev/null || want+=(postgresql)
  command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ] || want+=(mariadb-server)
  [ ${#want[@]} -eq 0 ] && return 0
  echo "installing ${want[*]}"
  local policy=/usr/sbin/policy-rc.d added=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && added=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  local rc=0
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null || rc=$?
  [ -n "$added" ] && rm -f "$policy"
  if [ "$rc" -ne 0 ] || ! zoho_db__pg_bin >/dev/null || [ ! -x /usr/sbin/mariadbd ]; then
    echo "${want[*]} did not install" >&2
    return 1
  fi
}

zoho_db_start() {
  local dir pg_bin pg_port my_port pw
  dir=$(mktemp -d "${TMPDIR:-/tmp}/zoho-auth-db.XXXXXX") || return 1
  chmod 755 "$dir"
  export ZOHO_AUTH_TEST_DB_DIR="$dir"
  pw=$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 24)

  # PostgreSQL, as the postgres system user (initdb refuses root).
  pg_bin=$(zoho_db__pg_bin) || { echo "PostgreSQL is not installed: run zoho_db_install" >&2; return 1; }
  pg_port=$(zoho_db__free_port)
  mkdir -p "$dir/pg" && chown postgres "$dir/pg"
  printf '%s\n' "$pw" >"$dir/pg/pwfile" && chown postgres "$dir/pg/pwfile" && chmod 600 "$dir/pg/pwfile"
  runuser -u postgres -- "$pg_bin/initdb" -D "$dir/pg/data" -U zoho_test --pwfile="$dir/pg/pwfile" \
    --auth=scram-sha-256 -E UTF8 --no-locale >"$dir/pg/initdb.log" 2>&1 \
    || { cat "$dir/pg/initdb.log" >&2; return 1; }
  rm -f "$dir/pg/pwfile"
  runuser -u postgres -- "$pg_bin/pg_ctl" -D "$dir/pg/data" -l "$dir/pg/server.log" -w -t 60 \
    -o "-p $pg_port -k $dir/pg -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=500" start >/dev/null \
    || { cat "$dir/pg/server.log" >&2; return 1; }
  PGPASSWORD="$pw" "$pg_bin/psql" -qAt -h 127.0.0.1 -p "$pg_port" -U zoho_test -d postgres \
    -c "CREATE DATABASE zoho_test" >/dev/null || return 1

  # MariaDB, as root with --user=root.
  my_port=$(zoho_db__free_port)
  mkdir -p "$dir/my"
  mariadb-install-db --no-defaults --user=root --datadir="$dir/my/data" \
    --auth-root-authentication-method=socket --skip-test-db >"$dir/my/install.log" 2>&1 \
    || { cat "$dir/my/install.log" >&2; return 1; }
  /usr/sbin/mariadbd --no-defaults --user=root --datadir="$dir/my/data" --bind-address=127.0.0.1 \
    --port="$my_port" --socket="$dir/my/sock" --pid-file="$dir/my/pid" --skip-name-resolve \
    --innodb-flush-log-at-trx-commit=2 --max-connections=500 --log-error="$dir/my/server.log" >/dev/null 2>&1 &
  local i
  for i in $(seq 1 120); do
    mariadb-admin --no-defaults -uroot --socket="$dir/my/sock" ping >/dev/null 2>&1 && break
    [ "$i" -eq 120 ] && { cat "$dir/my/server.log" >&2; return 1; }
    sleep 0.5
  done
  mariadb --no-defaults -uroot --socket="$dir/my/sock" -e "
    CREATE DATABASE zoho_test CHARACTER SET utf8mb4;
    CREATE USER 'zoho_test'@'127.0.0.1' IDENTIFIED BY '$pw';
    GRANT ALL ON *.* TO 'zoho_test'@'127.0.0.1' WITH GRANT OPTION;" || return 1

  export ZOHO_AUTH_TEST_POSTGRES_URL="postgres://zoho_test:$pw@127.0.0.1:$pg_port/zoho_test"
  export ZOHO_AUTH_TEST_MYSQL_URL="mysql://zoho_test:$pw@127.0.0.1:$my_port/zoho_test"
  echo "PostgreSQL on 127.0.0.1:$pg_port, MariaDB on 127.0.0.1:$my_port (data in $dir)"
}

# Stops both servers and deletes their data; safe to call twice or after a failed start.
zoho_db_stop() {
  local dir="${ZOHO_AUTH_TEST_DB_DIR:-}" pg_bin pid
  [ -n "$dir" ] && [ -d "$dir" ] || return 0
  if [ -f "$dir/pg/data/postmaster.pid" ] && pg_bin=$(zoho_db__pg_bin); then
    runuser -u postgres -- "$pg_bin/pg_ctl" -D "$dir/pg/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  if [ -f "$dir/my/pid" ]; then
    pid=$(cat "$dir/my/pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -rf "$dir"
  unset ZOHO_AUTH_TEST_DB_DIR ZOHO_AUTH_TEST_POSTGRES_URL ZOHO_AUTH_TEST_MYSQL_URL
}

# Run as a script: start both, run the given command (default: an interactive note), stop both.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  cd "$(dirname "$0")/.."
  zoho_db_install
  trap zoho_db_stop EXIT
  zoho_db_start
  if [ $# -eq 0 ]; then
    set -- cargo test --test sqlstore
  fi
  "$@"
fi
