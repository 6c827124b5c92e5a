#!/usr/bin/env bash
# Benchmark (not a test): SHA-256 throughput of bty-web's real hash worker
# against `openssl dgst -sha256`, on one file in the page cache, best of 3.
# The goal is bty-web >= 0.9 x openssl.
#
#   scripts/bench-hash.sh
#
#   BENCH_FILE=/path/to/file   hash this file instead of a fresh random one
#   BENCH_SIZE_MIB=1024        size of the random file (default 1 GiB)
#   BENCH_RUNS=3               runs of each tool; the best counts
#   BENCH_STRICT=1             exit 1 when the ratio is below the goal
#
# MB/s are 10^6 bytes per second. bty-web's come from the hashing time the
# bench binary reports (start-up excluded); openssl's from its wall time
# (start-up included, a few ms). Both wall times are shown too.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh

RUNS=${BENCH_RUNS:-3}
SIZE_MIB=${BENCH_SIZE_MIB:-1024}
GOAL=0.9
need openssl

echo "bench: building target/release/bty-bench-hash"
cargo build --release --quiet -p server --bin bty-bench-hash
BENCH=target/release/bty-bench-hash

tmp=
trap '[[ -n $tmp ]] && rm -rf "$tmp"' EXIT
if [[ -n ${BENCH_FILE:-} ]]; then
  file=$BENCH_FILE
  [[ -r $file ]] || die "cannot read $file"
else
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/bty-bench.XXXXXX")
  file=$tmp/random.img
  echo "bench: writing $SIZE_MIB MiB of random bytes to $file"
  head -c "$((SIZE_MIB * 1024 * 1024))" /dev/urandom >"$file"
fi
bytes=$(stat -c %s "$file")
echo "bench: warming the page cache"
cat "$file" >/dev/null

bty_best='' bty_wall='' ssl_best='' bty_sha='' ssl_sha=''
for ((i = 1; i <= RUNS; i++)); do
  # bty-web: `bty-web hash worker: <MB/s> MB/s (<seconds> s, sha256 <hex>)`
  t0=$(now)
  line=$("$BENCH" "$file")
  t1=$(now)
  secs=$(sed -nE 's/.*\(([0-9.]+) s, sha256 ([0-9a-f]{64})\).*/\1/p' <<<"$line")
  sha=$(sed -nE 's/.*sha256 ([0-9a-f]{64}).*/\1/p' <<<"$line")
  [[ -n $secs && -n $sha ]] || die "unexpected output from $BENCH: $line"
  # Its own timing is of the hashing alone; the wall time includes start-up.
  echo "bench: run $i bty-web: $line (wall $(elapsed "$t0" "$t1" 4) s)"
  [[ -z $bty_sha || $bty_sha == "$sha" ]] || die "bty-web gave two different sha256 values"
  bty_sha=$sha
  bty_best=$(best "$bty_best" "$secs")
  bty_wall=$(best "$bty_wall" "$(elapsed "$t0" "$t1" 4)")

  t0=$(now)
  out=$(openssl dgst -sha256 -r "$file")
  t1=$(now)
  secs=$(elapsed "$t0" "$t1" 4)
  sha=${out%% *}
  echo "bench: run $i openssl: $secs s, sha256 $sha"
  ssl_sha=$sha
  ssl_best=$(best "$ssl_best" "$secs")
done

[[ $bty_sha == "$ssl_sha" ]] || die "sha256 differs: bty-web $bty_sha, openssl $ssl_sha"

echo
awk -v bytes="$bytes" -v bty="$bty_best" -v btywall="$bty_wall" -v ssl="$ssl_best" -v goal="$GOAL" -v runs="$RUNS" -v sha="$bty_sha" '
BEGIN {
  bty_mbs = bytes / 1e6 / bty; ssl_mbs = bytes / 1e6 / ssl; ratio = bty_mbs / ssl_mbs
  printf "SHA-256 of %.0f MiB, file in page cache, best of %d; sha256 %s (both agree)\n", bytes / 1048576, runs, sha
  printf "%-26s %10s %10s %10s\n", "", "hash s", "wall s", "MB/s"
  printf "%-26s %10.3f %10.3f %10.0f\n", "bty-web hash worker", bty, btywall, bty_mbs
  printf "%-26s %10s %10.3f %10.0f\n", "openssl dgst -sha256", "-", ssl, ssl_mbs
  printf "%-26s %32.2f   (goal >= %.2f: %s)\n", "ratio bty-web / openssl", ratio, goal, (ratio >= goal ? "met" : "NOT met")
  exit (ratio >= goal) ? 0 : 1
}' && met=1 || met=0
if ((!met)) && [[ ${BENCH_STRICT:-0} == 1 ]]; then exit 1; fi
exit 0
