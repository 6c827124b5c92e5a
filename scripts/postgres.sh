#!/usr/bin/env bash
# A throwaway PostgreSQL server on 127.0.0.1, so the integration tests run
# against PostgreSQL as well as SQLite (Debian's postgresql package, which
# scripts/setup.sh installs). Nothing of the machine's own clusters is used.
#
#   scripts/postgres.sh start DIR   # prints the server URL: postgres://postgres@127.0.0.1:PORT
#   scripts/postgres.sh stop DIR
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

usage() { echo "usage: scripts/postgres.sh start|stop DIR" >&2; exit 2; }
[[ $# == 2 ]] || usage
command=$1 dir=$2
bin=$(find /usr/lib/postgresql -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)
[[ -n $bin ]] || { echo "postgres: no PostgreSQL under /usr/lib/postgresql (run scripts/setup.sh)" >&2; exit 1; }

# initdb refuses to run as root: run the server as the `postgres` user then.
as_owner() {
  if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case $command in
  start)
    mkdir -p "$dir"
    if [[ $(id -u) == 0 ]]; then
      # The server runs as `postgres`: it must reach DIR (mktemp makes 0700 dirs).
      parent=$(dirname "$(realpath "$dir")")
      [[ -O $parent ]] && chmod a+x "$parent"
      chown postgres "$dir"
    fi
    port=$(free_port)
    as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 >"$dir/initdb.log" 2>&1
    # Test data only: no fsync, a socket in DIR rather than /run.
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" \
      start >/dev/null
    echo "postgres://postgres@127.0.0.1:$port"
    ;;
  stop)
    [[ -d $dir/data ]] && as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    ;;
  *) usage ;;
esac
