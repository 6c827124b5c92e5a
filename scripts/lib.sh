# Helpers shared by scripts/run.sh and scripts/test.sh (sourced, not run).
# shellcheck shell=bash

# http_status URL: print the HTTP status of a GET (no redirects followed),
# or 000 when nothing answers. Node is always here (the e2e test needs it);
# curl may not be on a fresh machine.
http_status() {
  node -e '
    const ctl = AbortSignal.timeout(2000);
    fetch(process.argv[1], { redirect: "manual", signal: ctl })
      .then(r => console.log(r.status), () => console.log("000"));
  ' "$1" 2>/dev/null || echo 000
}

# wait_healthy URL PID SECONDS: wait until GET URL answers 200, while process
# PID is alive. Fails as soon as the process has exited.
wait_healthy() {
  local url=$1 pid=$2 deadline=$((SECONDS + $3))
  while ((SECONDS < deadline)); do
    kill -0 "$pid" 2>/dev/null || return 1
    [[ $(http_status "$url") == 200 ]] && return 0
    sleep 0.25
  done
  return 1
}

# free_port: a TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
  node -e '
    const s = require("node:net").createServer();
    s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });
  '
}

# stop_process PID [SECONDS]: SIGTERM, then SIGKILL if it is still there
# after SECONDS (default 10); reaps it.
stop_process() {
  local pid=$1 grace=${2:-10} i
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "($pid did not stop within ${grace}s of SIGTERM; sending SIGKILL)" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

# unset_bty_env: forget every BTY_* variable of the caller's environment.
unset_bty_env() {
  local v
  for v in $(compgen -e); do
    [[ $v == BTY_* ]] && unset "$v"
  done
  return 0
}
