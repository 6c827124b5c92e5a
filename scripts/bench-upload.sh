#!/usr/bin/env bash
# Benchmark (not a test) of PUT /images/{name} over loopback, two parts:
#  1. time until the 200 for one upload (`curl -T`), best of BENCH_RUNS,
#     beside `openssl dgst -sha256`, `cp`, and a durable write of the same
#     file (`dd conv=fdatasync`) into the image root's file system. An
#     upload is synced to disk before its 200, so the machine's limit for it
#     is the slower of hashing and writing durably: the ratio against that
#     says how close to the limit an upload is. The older ratio against the
#     slower of openssl and cp (neither syncs) is printed too;
#  2. the server's peak memory (VmHWM): idle (after start-up and a warm
#     request), then after four and after sixteen uploads at once, for each
#     file size in BENCH_MEMORY_MIB; the growth over idle beside its goal
#     (+8 MiB for four, +16 MiB for sixteen, whatever the file size).
#
#   scripts/bench-upload.sh   BENCH_SIZE_MIB=2048 BENCH_RUNS=3
#                             BENCH_MEMORY_MIB="64 256" BENCH_ONLY=throughput|memory
#                             BENCH_BIN=path/to/bty-web (instead of building one)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

RUNS=${BENCH_RUNS:-3}
SIZE_MIB=${BENCH_SIZE_MIB:-2048}
MEMORY_MIB=${BENCH_MEMORY_MIB:-64 256}
ONLY=${BENCH_ONLY:-}
need curl openssl dd

BIN=${BENCH_BIN:-}
if [[ -z $BIN ]]; then
  echo "bench: building bty-web (release)"
  cargo build --release --quiet -p server --bin bty-web
  BIN=$(release_bin bty-web)
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/bty-bench-upload.XXXXXX")
server=
cleanup() {
  [[ -n $server ]] && stop_process "$server" 10
  rm -rf "$work"
}
trap cleanup EXIT

port=$(free_port)
base=http://127.0.0.1:$port
images=$work/state/images

# start_server: a fresh bty-web on $port with its state in $work/state,
# logged in as admin (cookie jar $work/jar).
start_server() {
  BTY_WEB_HOST=127.0.0.1 BTY_WEB_PORT=$port BTY_STATE_DIR=$work/state BTY_ADMIN_PASSWORD=bench \
    BTY_SITE_ROOT=target/site RUST_LOG=warn "$BIN" >>"$work/server.log" 2>&1 &
  server=$!
  wait_healthy "$base/healthz" "$server" 60 || die "bty-web did not start; see $work/server.log"
  curl -s -o /dev/null -c "$work/jar" -d username=admin -d password=bench "$base/ui/login"
}

restart_server() {
  stop_process "$server" 10
  server=
  rm -rf "$work/state"
  start_server
}

# upload FILE NAME: PUT FILE as NAME; dies unless the answer is 200.
upload() {
  local code answer=$work/answer-$2.json
  code=$(curl -s -o "$answer" -w '%{http_code}' -b "$work/jar" -T "$1" "$base/images/$2")
  [[ $code == 200 ]] || die "upload of $2 answered $code: $(cat "$answer")"
}

# upload_at_once COUNT FILE PREFIX: COUNT uploads of FILE at the same time.
upload_at_once() {
  local n pids=()
  for ((n = 1; n <= $1; n++)); do
    upload "$2" "$3-$n.img" &
    pids+=($!)
  done
  for n in "${pids[@]}"; do
    wait "$n" || die "an upload of $3 failed"
  done
}

start_server

throughput() {
  local file=$work/random.img durable=$work/state/durable.img bytes
  echo "bench: writing $SIZE_MIB MiB of random bytes"
  head -c "$((SIZE_MIB * 1024 * 1024))" /dev/urandom >"$file"
  cat "$file" >/dev/null
  bytes=$(stat -c %s "$file")
  mkdir -p "$images"
  # The durable write goes beside the image root (not into it, where the
  # reconciler would pick it up), on the same file system.
  [[ $(stat -c %d "$work/state") == $(stat -c %d "$images") ]] ||
    die "$work/state and the image root are on different file systems"

  local up='' ssl='' cpt='' ddt='' u s c d i
  for ((i = 1; i <= RUNS; i++)); do
    rm -f "$images/bench.img" "$images/bench.img.sha256" "$work/copy.img" "$durable"
    sync
    u=$(timed upload "$file" bench.img)
    s=$(timed openssl dgst -sha256 "$file")
    c=$(timed cp "$file" "$work/copy.img")
    rm -f "$work/copy.img"
    sync
    d=$(timed dd if="$file" of="$durable" bs=1M conv=fdatasync status=none)
    rm -f "$durable"
    echo "bench: run $i: upload ${u}s, openssl ${s}s, cp ${c}s, dd conv=fdatasync ${d}s"
    up=$(best "$up" "$u"); ssl=$(best "$ssl" "$s"); cpt=$(best "$cpt" "$c"); ddt=$(best "$ddt" "$d")
  done
  local want got
  want=$(openssl dgst -sha256 "$file" | awk '{print $NF}')
  got=$(sed -nE 's/.*"sha256":"([0-9a-f]{64})".*/\1/p' "$work/answer-bench.img.json")
  [[ $got == "$want" ]] || die "the upload's sha256 $got is not openssl's $want"
  rm -f "$file" "$images/bench.img" "$images/bench.img.sha256"

  echo
  echo "PUT of $((bytes / 1048576)) MiB over loopback, best of $RUNS (sha256 agrees with openssl)"
  awk -v u="$up" -v s="$ssl" -v c="$cpt" -v d="$ddt" -v b="$bytes" 'BEGIN {
    printf "%-36s %8s %9s\n", "", "seconds", "MB/s"
    printf "%-36s %8.3f %9.0f\n", "bty-web upload (curl -T, to 200)", u, b / u / 1e6
    printf "%-36s %8.3f %9.0f\n", "openssl dgst -sha256", s, b / s / 1e6
    printf "%-36s %8.3f %9.0f\n", "cp (no sync)", c, b / c / 1e6
    printf "%-36s %8.3f %9.0f\n", "durable write (dd conv=fdatasync)", d, b / d / 1e6
    limit = (s > d) ? s : d
    slower = (s > c) ? s : c
    printf "ratio upload / max(openssl, durable write): %.2f (1.00 is the machine limit)\n", u / limit
    printf "ratio upload / max(openssl, cp):            %.2f (goal <= 1.10)\n", u / slower
  }'
}

# memory SIZE_MIB: VmHWM of a fresh server idle, then after four and after
# sixteen parallel uploads of a SIZE_MIB file; prints one table row.
memory() {
  local file=$work/memory.img idle four sixteen
  head -c "$(($1 * 1024 * 1024))" /dev/urandom >"$file"
  head -c 1048576 /dev/urandom >"$work/warm.img"
  restart_server
  # Warm: one page, one small upload (pools, threads, prepared statements).
  curl -s -o /dev/null -b "$work/jar" "$base/images"
  upload "$work/warm.img" warm.img
  idle=$(peak_rss_kib "$server")
  upload_at_once 4 "$file" "four-$1"
  four=$(peak_rss_kib "$server")
  upload_at_once 16 "$file" "sixteen-$1"
  sixteen=$(peak_rss_kib "$server")
  rm -f "$file" "$work/warm.img"
  awk -v s="$1" -v i="$idle" -v f="$four" -v x="$sixteen" 'BEGIN {
    printf "%-16s %8.1f %9.1f %+8.1f %-8s %9.1f %+8.1f %-8s\n", s " MiB files", i / 1024,
      f / 1024, (f - i) / 1024, ((f - i) / 1024 <= 8) ? "ok" : "OVER",
      x / 1024, (x - i) / 1024, ((x - i) / 1024 <= 16) ? "ok" : "OVER"
  }'
}

[[ $ONLY == memory ]] || throughput
if [[ $ONLY != throughput ]]; then
  echo
  echo "server peak memory (VmHWM, MiB) on a freshly started server per file size;"
  echo "growth over idle, goal +8 MiB for 4 uploads at once and +16 MiB for 16"
  printf "%-16s %8s %9s %8s %-8s %9s %8s %-8s\n" "" idle "4 at once" growth "(<= +8)" \
    "16 at once" growth "(<= +16)"
  for size in $MEMORY_MIB; do
    memory "$size"
  done
fi
