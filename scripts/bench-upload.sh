#!/usr/bin/env bash
# Benchmark (not a test) of PUT /images/{name} over loopback, two figures:
#  1. time until the 200 for a 2 GiB upload (`curl -T`), best of 3, beside
#     `openssl dgst -sha256` and `cp` of the same file (goal: the upload no
#     slower than 1.1 x the slower of those two), and beside `cp` + `sync`,
#     since bty-web syncs the file to disk before it answers;
#  2. the server's peak RSS (VmHWM) while four 1 GiB uploads run at once
#     (goal: under 100 MiB).
#
#   scripts/bench-upload.sh          BENCH_SIZE_MIB=2048 BENCH_RUNS=3
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

RUNS=${BENCH_RUNS:-3}
SIZE_MIB=${BENCH_SIZE_MIB:-2048}
need curl openssl

echo "bench: building target/release/bty-web"
cargo build --release --quiet -p server --bin bty-web

work=$(mktemp -d "${TMPDIR:-/tmp}/bty-bench-upload.XXXXXX")
server=
cleanup() {
  [[ -n $server ]] && stop_process "$server" 10
  rm -rf "$work"
}
trap cleanup EXIT

port=$(free_port)
base=http://127.0.0.1:$port
BTY_WEB_HOST=127.0.0.1 BTY_WEB_PORT=$port BTY_STATE_DIR=$work/state BTY_ADMIN_PASSWORD=bench \
  BTY_SITE_ROOT=target/site RUST_LOG=warn target/release/bty-web >"$work/server.log" 2>&1 &
server=$!
wait_healthy "$base/healthz" "$server" 60 || die "bty-web did not start; see $work/server.log"
curl -s -o /dev/null -c "$work/jar" -d username=admin -d password=bench "$base/ui/login"

file=$work/random.img
echo "bench: writing $SIZE_MIB MiB of random bytes"
head -c "$((SIZE_MIB * 1024 * 1024))" /dev/urandom >"$file"
cat "$file" >/dev/null
bytes=$(stat -c %s "$file")

upload() {
  local code
  code=$(curl -s -o "$work/answer.json" -w '%{http_code}' -b "$work/jar" -T "$1" "$base/images/$2")
  [[ $code == 200 ]] || die "upload answered $code: $(cat "$work/answer.json")"
}

up='' ssl='' cpt='' cps=''
for ((i = 1; i <= RUNS; i++)); do
  rm -f "$work/state/images/bench.img" "$work/state/images/bench.img.sha256" "$work/copy.img"
  sync
  u=$(timed upload "$file" bench.img)
  s=$(timed openssl dgst -sha256 "$file")
  c=$(timed cp "$file" "$work/copy.img")
  rm -f "$work/copy.img"; sync
  cs=$(timed bash -c "cp '$file' '$work/copy.img' && sync")
  echo "bench: run $i: upload ${u}s, openssl ${s}s, cp ${c}s, cp+sync ${cs}s"
  up=$(best "$up" "$u"); ssl=$(best "$ssl" "$s"); cpt=$(best "$cpt" "$c"); cps=$(best "$cps" "$cs")
done
want=$(openssl dgst -sha256 "$file" | awk '{print $NF}')
got=$(sed -nE 's/.*"sha256":"([0-9a-f]{64})".*/\1/p' "$work/answer.json")
[[ $got == "$want" ]] || die "the upload's sha256 $got is not openssl's $want"
rm -f "$work/copy.img"

echo
echo "PUT of $((bytes / 1048576)) MiB over loopback, best of $RUNS (sha256 agrees with openssl)"
awk -v u="$up" -v s="$ssl" -v c="$cpt" -v cs="$cps" -v b="$bytes" 'BEGIN {
  slower = (s > c) ? s : c
  printf "%-34s %8s %9s\n", "", "seconds", "MB/s"
  printf "%-34s %8.3f %9.0f\n", "bty-web upload (curl -T, to 200)", u, b / u / 1e6
  printf "%-34s %8.3f %9.0f\n", "openssl dgst -sha256", s, b / s / 1e6
  printf "%-34s %8.3f %9.0f\n", "cp", c, b / c / 1e6
  printf "%-34s %8.3f %9.0f\n", "cp + sync", cs, b / cs / 1e6
  printf "ratio upload / slower of openssl and cp: %.2f (goal <= 1.10)\n", u / slower
  printf "ratio upload / cp + sync:                 %.2f\n", u / cs
}'

echo
echo "bench: four 1 GiB uploads at once, on a freshly started server"
small=$work/one-gib.img
head -c $((1024 * 1024 * 1024)) "$file" >"$small"
rm -f "$file"
stop_process "$server" 10
BTY_WEB_HOST=127.0.0.1 BTY_WEB_PORT=$port BTY_STATE_DIR=$work/state BTY_ADMIN_PASSWORD=bench \
  BTY_SITE_ROOT=target/site RUST_LOG=warn target/release/bty-web >>"$work/server.log" 2>&1 &
server=$!
wait_healthy "$base/healthz" "$server" 60 || die "bty-web did not restart; see $work/server.log"
curl -s -o /dev/null -c "$work/jar" -d username=admin -d password=bench "$base/ui/login"
before=$(awk '/VmHWM/ {print $2}' "/proc/$server/status")
pids=()
for n in 1 2 3 4; do
  curl -s -o /dev/null -b "$work/jar" -T "$small" "$base/images/parallel-$n.img" &
  pids+=($!)
done
wait "${pids[@]}"
after=$(awk '/VmHWM/ {print $2}' "/proc/$server/status")
awk -v a="$before" -v b="$after" 'BEGIN {
  printf "server peak RSS (VmHWM): %.1f MiB before, %.1f MiB after four parallel 1 GiB uploads (goal < 100 MiB)\n", a / 1024, b / 1024
}'
