#!/usr/bin/env bash
# The end-to-end browser suite once more, through nginx in front of two
# replicas of BIN on one throwaway PostgreSQL, sharing one state directory
# (the site configuration of deploy/nginx-bty-web.conf, as the README gives
# it). Called by scripts/test.sh after the first end-to-end run:
#
#   scripts/e2e-balanced.sh BIN SITE_ROOT
#
# Prints the suite's own tally line (`e2e: N passed, M failed`); exits non-zero
# when anything failed, after printing both replicas' logs and nginx's.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
[[ $# == 2 ]] || { echo "usage: scripts/e2e-balanced.sh BIN SITE_ROOT" >&2; exit 2; }
bin=$1 site_root=$(realpath "$2")

work=$(mktemp -d "${TMPDIR:-/tmp}/bty-e2e-balanced.XXXXXX")
state=$work/state
mkdir -p "$state" "$work/nginx"
pids=()
nginx_pid=
failed=1
cleanup() {
  local pid
  [[ -n $nginx_pid ]] && stop_process "$nginx_pid" 10
  for pid in "${pids[@]}"; do stop_process "$pid" 10; done
  scripts/postgres.sh stop "$work/pg" >/dev/null 2>&1 || true
  if ((failed)); then
    for log in "$work"/replica-*.log "$work/nginx/error.log"; do
      [[ -f $log ]] || continue
      echo "---- $log (last 150 lines) ----"
      tail -n 150 "$log"
    done
    echo "---- state kept in $work ----"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT

database_url=$(scripts/postgres.sh start "$work/pg")/bty_e2e
psql_url=${database_url%/bty_e2e}/postgres
psql -q "$psql_url" -c 'CREATE DATABASE bty_e2e' >/dev/null
password=$(od -An -N18 -tx1 /dev/urandom | tr -d ' \n')
release_port=$(free_port)
release_url=http://127.0.0.1:$release_port/releases/latest/download/catalog.toml

ports=()
for node in replica-a replica-b; do
  port=$(free_port)
  while [[ " ${ports[*]} $release_port " == *" $port "* ]]; do port=$(free_port); done
  ports+=("$port")
  (
    unset_bty_env
    export BTY_WEB_HOST=127.0.0.1 BTY_WEB_PORT=$port BTY_STATE_DIR=$state \
           BTY_DATABASE_URL=$database_url BTY_NODE_ID=$node \
           BTY_ADMIN_PASSWORD=$password BTY_SITE_ROOT=$site_root \
           BTY_RELEASE_CATALOG_URL=$release_url BTY_TRUSTED_PROXY=true
    exec "$bin"
  ) >"$work/$node.log" 2>&1 &
  pids+=($!)
  # One at a time: the first runs the migrations and creates the admin.
  wait_healthy "http://127.0.0.1:$port/healthz" "${pids[-1]}" 60 ||
    { echo "$node did not answer on port $port" >&2; exit 1; }
done

lb_port=$(free_port)
upstreams=
for port in "${ports[@]}"; do
  upstreams+="        server 127.0.0.1:$port;"$'\n'
done
conf=$work/nginx/nginx.conf
{
  # As root, nginx's workers would switch to `nobody`, who cannot write here.
  [[ $(id -u) == 0 ]] && echo 'user root;'
  while IFS= read -r line; do
    case $line in
      @UPSTREAMS@) printf '%s' "$upstreams" ;;
      *) line=${line//@PREFIX@/$work/nginx}
         printf '%s\n' "${line//@LISTEN@/127.0.0.1:$lb_port}" ;;
    esac
  done <deploy/nginx-bty-web.conf
} >"$conf"
/usr/sbin/nginx -p "$work/nginx" -c "$conf" &
nginx_pid=$!
base=http://127.0.0.1:$lb_port
wait_healthy "$base/healthz" "$nginx_pid" 20 || { echo "nginx did not answer on $base" >&2; exit 1; }
echo "nginx (pid $nginx_pid) on $base in front of replicas on ports ${ports[*]}"

set +e
BASE_URL=$base BTY_IMAGE_ROOT=$state/images BTY_ADMIN_PASSWORD=$password \
  BTY_RELEASE_CATALOG_URL=$release_url node end2end/tests/e2e.mjs
rc=$?
set -e
for pid in "${pids[@]}"; do
  kill -0 "$pid" 2>/dev/null || { echo "a replica exited during the end-to-end test" >&2; rc=1; }
done
((rc == 0)) && failed=0
exit "$rc"
