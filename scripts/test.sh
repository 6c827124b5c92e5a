#!/usr/bin/env bash
# Everything CI checks, in order, stopping at the first failure:
#   setup, rustfmt, clippy (server and browser side), cargo test (SQLite, then
#   the integration tests again on PostgreSQL), a build of the site and
#   server, the end-to-end test in headless Chromium against the built
#   binary, the cluster tests (two replicas on one PostgreSQL, Garage,
#   nginx), and the end-to-end test again through nginx in front of two
#   replicas (its tally is added to the first's).
#
#   scripts/test.sh                       (E2E_PROFILE=dev for a debug build)
#
# Installs whatever is missing first (scripts/setup.sh). .ci/run runs exactly
# this. The last line is the end-to-end tally, `e2e: N passed, M failed`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-$([[ -t 1 ]] && echo auto || echo never)}

TARGET_DIR=${CARGO_TARGET_DIR:-target} # as scripts/build.sh
E2E_PROFILE=${E2E_PROFILE:-release}
case $E2E_PROFILE in
  release) BIN=$TARGET_DIR/release/bty-web ;;
  dev) BIN=$TARGET_DIR/debug/bty-web ;;
  *) echo "E2E_PROFILE must be release or dev, not '$E2E_PROFILE'" >&2; exit 2 ;;
esac

STEPS=11
step_no=0
step_name=
step_start=$SECONDS
timings=()
step_timed=1
step() {
  finish_step
  step_no=$((step_no + 1))
  step_name=$1
  step_start=$SECONDS
  step_timed=0
  printf '\n==== [%d/%d] %s ====\n' "$step_no" "$STEPS" "$step_name"
}
finish_step() {
  ((step_timed)) || timings+=("$(printf '%5ds  %s' $((SECONDS - step_start)) "$step_name")")
  step_timed=1
}

# End-to-end and PostgreSQL state, for the exit trap.
server=
work=
pg_dir=
e2e_failed=0
on_exit() {
  local rc=$?
  if [[ -n $pg_dir ]]; then
    scripts/postgres.sh stop "$pg_dir/pg" || true
    scripts/garage.sh stop "$pg_dir/garage" || true
    rm -rf "$pg_dir"
  fi
  if [[ -n $server ]]; then
    stop_process "$server" 10
  fi
  if [[ -n $work ]]; then
    if ((rc != 0 || e2e_failed)); then
      echo
      echo "---- bty-web server log ($work/server.log, last 300 lines) ----"
      tail -n 300 "$work/server.log" 2>/dev/null || true
      echo "---- end of server log; state kept in $work ----"
    else
      rm -rf "$work"
    fi
  fi
  if ((rc != 0)); then
    echo
    echo "test: FAILED in step [$step_no/$STEPS] ${step_name:-?} (exit status $rc)" >&2
  fi
  exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# tally OUTPUT STATUS: "PASSED FAILED" from the last `e2e: P passed, F failed`
# line of the file OUTPUT; a run that failed (STATUS not 0) counts at least
# one failure, also when it printed no tally.
tally() {
  local line passed=0 failed=0
  line=$(grep -E '^e2e: [0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1 || true)
  if [[ $line =~ ^e2e:\ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
    passed=${BASH_REMATCH[1]} failed=${BASH_REMATCH[2]}
  fi
  (($2 == 0 || failed > 0)) || failed=1
  echo "$passed $failed"
}

step "setup (install what is missing)"
scripts/setup.sh

step "cargo fmt --all -- --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets (app, server, migration; and the cluster tests)"
cargo clippy --all-targets -- -D warnings
# `--all-targets` leaves out the targets with `test = false`.
cargo clippy -p server --test cluster -- -D warnings

step "cargo clippy, browser side (app/hydrate + frontend, wasm32)"
cargo clippy -p app -p frontend --features app/hydrate --target wasm32-unknown-unknown \
  --target-dir "$TARGET_DIR/front" -- -D warnings

step "cargo test (SQLite)"
cargo test

step "integration tests again on PostgreSQL (a throwaway server on 127.0.0.1)"
pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/bty-pg.XXXXXX")
BTY_TEST_POSTGRES_URL=$(scripts/postgres.sh start "$pg_dir/pg") cargo test --test api
scripts/postgres.sh stop "$pg_dir/pg"
rm -rf "$pg_dir"
pg_dir=

step "build site and server ($E2E_PROFILE)"
scripts/build.sh "$E2E_PROFILE"

step "start $BIN on a free port with a fresh state dir"
work=$(mktemp -d "${TMPDIR:-/tmp}/bty-e2e.XXXXXX")
state=$work/state
mkdir -p "$state"
port=$(free_port)
# The release host Fetch catalog pulls from: e2e.mjs listens there itself.
release_port=$(free_port)
while [[ $release_port == "$port" ]]; do release_port=$(free_port); done
release_url=http://127.0.0.1:$release_port/releases/latest/download/catalog.toml
password=$(od -An -N18 -tx1 /dev/urandom | tr -d ' \n')
base=http://127.0.0.1:$port
site_root=$(realpath "$TARGET_DIR/site")
(
  # Only what this test sets: nothing from the caller's BTY_* environment.
  unset_bty_env
  export BTY_WEB_HOST=127.0.0.1 BTY_WEB_PORT=$port BTY_STATE_DIR=$state \
         BTY_ADMIN_PASSWORD=$password BTY_SITE_ROOT=$site_root \
         BTY_RELEASE_CATALOG_URL=$release_url
  exec "$BIN"
) >"$work/server.log" 2>&1 &
server=$!
if ! wait_healthy "$base/healthz" "$server" 60; then
  e2e_failed=1
  if kill -0 "$server" 2>/dev/null; then
    echo "bty-web did not answer 200 on $base/healthz within 60 s" >&2
  else
    wait "$server" && rc=0 || rc=$?
    server=
    echo "bty-web exited with status $rc before answering on $base/healthz" >&2
  fi
  exit 1
fi
echo "bty-web (pid $server) is up on $base, state in $state"

step "end-to-end test (end2end/tests/e2e.mjs, headless chromium)"
set +e
BASE_URL=$base BTY_IMAGE_ROOT=$state/images BTY_ADMIN_PASSWORD=$password \
  BTY_RELEASE_CATALOG_URL=$release_url node end2end/tests/e2e.mjs 2>&1 | tee "$work/e2e.out"
e2e_rc=$?
set -e
if ! kill -0 "$server" 2>/dev/null; then
  echo "bty-web exited during the end-to-end test" >&2
  e2e_rc=1
fi
((e2e_rc == 0)) || e2e_failed=1
read -r passed failed < <(tally "$work/e2e.out" "$e2e_rc")
finish_step
stop_process "$server" 10
server=

if ((e2e_rc == 0)); then
  # The end-to-end run passed: its state is not needed for a later failure.
  rm -rf "$work"
  work=
  step "cluster tests: two replicas on one PostgreSQL, the object store on Garage (throwaway servers on 127.0.0.1)"
  pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/bty-pg.XXXXXX")
  # Needs PostgreSQL and Garage: plain `cargo test` leaves the target out
  # (test = false). garage.sh prints the BTY_TEST_S3_* variables.
  s3_env=$(scripts/garage.sh start "$pg_dir/garage")
  (
    while IFS= read -r assignment; do export "${assignment?}"; done <<<"$s3_env"
    BTY_TEST_POSTGRES_URL=$(scripts/postgres.sh start "$pg_dir/pg") cargo test --test cluster
  )
  scripts/postgres.sh stop "$pg_dir/pg"
  scripts/garage.sh stop "$pg_dir/garage"
  rm -rf "$pg_dir"
  pg_dir=
  step "end-to-end test again, through nginx in front of two replicas on PostgreSQL"
  balanced_out=$(mktemp "${TMPDIR:-/tmp}/bty-e2e-balanced.XXXXXX")
  set +e
  scripts/e2e-balanced.sh "$BIN" "$TARGET_DIR/site" 2>&1 | tee "$balanced_out"
  e2e_rc=$?
  set -e
  # One tally for both runs, in the same form as the first's.
  read -r more_passed more_failed < <(tally "$balanced_out" "$e2e_rc")
  rm -f "$balanced_out"
  passed=$((passed + more_passed)) failed=$((failed + more_failed))
  finish_step
fi

echo
echo "==== time per step ===="
printf '%s\n' "${timings[@]}"
echo "e2e: $passed passed, $failed failed"
((e2e_rc == 0)) || exit 1
