#!/usr/bin/env bash
# Install what is missing, build the release site and server, and run
# bty-web on http://127.0.0.1:8080 with its state in ./var/bty.
#
#   scripts/run.sh
#
# Every BTY_* variable you set is passed to the server and wins over the
# defaults below, e.g.
#   BTY_WEB_PORT=9000 BTY_STATE_DIR=/srv/bty BTY_ADMIN_PASSWORD=secret scripts/run.sh
# (BTY_ADMIN_PASSWORD only counts on the first start, when the server creates
# the `admin` account; without it the server generates a password and writes
# it to $BTY_STATE_DIR/admin-password.) Ctrl-C stops the server.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

scripts/setup.sh
scripts/build.sh release

export BTY_WEB_HOST=${BTY_WEB_HOST:-127.0.0.1}
export BTY_WEB_PORT=${BTY_WEB_PORT:-8080}
export BTY_STATE_DIR=${BTY_STATE_DIR:-$PWD/var/bty}
TARGET_DIR=${CARGO_TARGET_DIR:-target} # as scripts/build.sh
export BTY_SITE_ROOT=${BTY_SITE_ROOT:-$(realpath "$TARGET_DIR/site")}
mkdir -p "$BTY_STATE_DIR"

# The address to open in a browser (a wildcard bind is reachable on loopback).
case $BTY_WEB_HOST in
  0.0.0.0 | '' ) url_host=127.0.0.1 ;;
  :: | '[::]') url_host='[::1]' ;;
  *:*) url_host="[$BTY_WEB_HOST]" ;;
  *) url_host=$BTY_WEB_HOST ;;
esac
base="http://$url_host:$BTY_WEB_PORT"

echo "run: starting $TARGET_DIR/release/bty-web on $base (state in $BTY_STATE_DIR)"
"$TARGET_DIR/release/bty-web" &
server=$!

# Ctrl-C / SIGTERM: stop the server (SIGTERM; it shuts down gracefully), a
# second one kills it. Asynchronous commands of a script ignore SIGINT, so
# SIGINT is not what we forward.
signals=0
# shellcheck disable=SC2317  # invoked by the trap below
on_signal() {
  signals=$((signals + 1))
  if ((signals == 1)); then kill -TERM "$server" 2>/dev/null || true
  else kill -KILL "$server" 2>/dev/null || true
  fi
}
trap on_signal INT TERM

if wait_healthy "$base/healthz" "$server" 60; then
  password_file=$BTY_STATE_DIR/admin-password
  echo
  echo "================================================================"
  echo "  bty-web is up: log in at $base/ui/login as admin"
  if [[ -r $password_file ]]; then
    echo "  password (from $password_file): $(cat "$password_file")"
  elif [[ -n ${BTY_ADMIN_PASSWORD:-} ]]; then
    echo "  password: the BTY_ADMIN_PASSWORD in your environment (if this state dir's admin was created with it)"
  else
    echo "  password: the one set when this state dir's admin account was created"
  fi
  echo "  images:   put disk images into ${BTY_IMAGE_ROOT:-$BTY_STATE_DIR/images}"
  echo "  stop:     Ctrl-C"
  echo "================================================================"
  echo
elif kill -0 "$server" 2>/dev/null && ((signals == 0)); then
  echo "run: warning: $base/healthz did not answer 200 within 60 s; the server keeps running" >&2
fi

# Wait for the server; `wait` returns early when a trapped signal arrives.
rc=0
while :; do
  wait "$server" && rc=0 || rc=$?
  kill -0 "$server" 2>/dev/null || break
done
# Stopped by our own forwarded SIGTERM: a clean exit.
if ((signals > 0)) && ((rc == 143 || rc == 0)); then rc=0; fi
((rc == 0)) || echo "run: bty-web exited with status $rc" >&2
exit "$rc"
