#!/usr/bin/env bash
# Start or stop a throwaway PostgreSQL cluster for the tests (Debian's postgresql package).
#   eval "$(bash scripts/pg.sh start)"   -> exports SCREENER_TEST_PG_URL and SCREENER_PG_DIR
#   bash scripts/pg.sh stop "$SCREENER_PG_DIR"
# Listens on 127.0.0.1 only; trust authentication; data in a temp folder.
set -euo pipefail

find_bin() {
  local name=$1 dir
  for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/$name" ] && { echo "$dir/$name"; return 0; }
  done
  command -v "$name" 2>/dev/null && return 0
  return 1
}

as_owner() {
  # initdb and postgres refuse to run as root: run them as the postgres user.
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

start() {
  if ! find_bin initdb >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      echo "installing postgresql (apt-get)" >&2
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >&2
    else
      echo "PostgreSQL is not installed and cannot be installed here (need root and apt-get)" >&2
      exit 1
    fi
  fi
  local initdb pg_ctl dir port
  initdb=$(find_bin initdb); pg_ctl=$(find_bin pg_ctl)
  if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
    useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres >&2
  fi
  dir=$(mktemp -d /tmp/screener-pg.XXXXXX)
  [ "$(id -u)" = 0 ] && chown postgres "$dir"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  as_owner "$initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null 2>"$dir/initdb.log" \
    || as_owner "$initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 >/dev/null 2>"$dir/initdb.log" \
    || { cat "$dir/initdb.log" >&2; exit 1; }
  as_owner "$pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=200" start >/dev/null \
    || { cat "$dir/server.log" >&2; exit 1; }
  echo "export SCREENER_TEST_PG_URL=postgresql://postgres@127.0.0.1:$port/postgres"
  echo "export SCREENER_PG_DIR=$dir"
}

stop() {
  local dir=${1:-} pg_ctl
  [ -n "$dir" ] && [ -d "$dir/data" ] || exit 0
  pg_ctl=$(find_bin pg_ctl)
  as_owner "$pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}

case "${1:-}" in
  start) start ;;
  stop) stop "${2:-}" ;;
  *) echo "usage: $0 start | stop DIR" >&2; exit 2 ;;
esac
