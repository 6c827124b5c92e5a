#!/usr/bin/env bash
# Benchmark (not a test): bty-web's inspection pass (decompress and SHA-256
# of the decompressed stream, on two threads) against the shell pipe that
# does the same, `zstd -dc FILE | openssl dgst -sha256` (and gzip -dc,
# xz -dc), on one disk-like image compressed three ways, each file in the
# page cache. Median of 3 runs each. The goal is bty-web <= 1.1 x the pipe's
# time for every format.
#
#   scripts/bench-inspect.sh
#
#   BENCH_SIZE_MIB=1024        size of the uncompressed image (default 1 GiB)
#   BENCH_RUNS=3               runs of each side; the median counts
#   BENCH_FORMATS="zstd gzip xz"
#   BENCH_STRICT=1             exit 1 when a ratio misses the goal
#
# The image is a disk's mix, repeated in 4 MiB groups: 1 MiB of random
# bytes (incompressible), 1 MiB of base64 text (literals only), 1 MiB of
# `seq` output (matches) and 1 MiB of zeros. Files are compressed at each
# tool's default level, xz with one thread (one block, as most published
# .xz images are). Both sides' times are wall times, start-up included.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh

RUNS=${BENCH_RUNS:-3}
SIZE_MIB=${BENCH_SIZE_MIB:-1024}
FORMATS=${BENCH_FORMATS:-zstd gzip xz}
GOAL=1.1
need openssl base64 seq
for format in $FORMATS; do
  case $format in
    zstd | gzip | xz) need "$format" ;;
    *) die "unknown format $format (zstd, gzip or xz)" ;;
  esac
done
((SIZE_MIB >= 4 && SIZE_MIB % 4 == 0)) || die "BENCH_SIZE_MIB must be a multiple of 4"

echo "bench: building target/release/bty-bench-inspect"
cargo build --release --quiet -p server --bin bty-bench-inspect
BENCH=$(release_bin bty-bench-inspect)

work=$(mktemp -d "${TMPDIR:-/tmp}/bty-bench-inspect.XXXXXX")
trap 'rm -rf "$work"' EXIT
image=$work/disk.img
echo "bench: writing a $SIZE_MIB MiB disk-like image"
mib=1048576
for ((group = 0; group < SIZE_MIB / 4; group++)); do
  head -c "$mib" /dev/urandom
  head -c $((mib * 3 / 4)) /dev/urandom | base64 -w 0
  # seq writes more than head takes: its SIGPIPE is expected.
  { seq $((group * 200000)) $((group * 200000 + 200000)) || true; } | head -c "$mib"
  head -c "$mib" /dev/zero
done >"$image"
[[ $(stat -c %s "$image") == $((SIZE_MIB * mib)) ]] || die "the image came out the wrong size"
sha=$(openssl dgst -sha256 -r "$image")
sha=${sha%% *}

declare -A suffix=([zstd]=zst [gzip]=gz [xz]=xz)
rows=()
all_met=1
for format in $FORMATS; do
  file=$image.${suffix[$format]}
  echo "bench: compressing with $format"
  case $format in
    zstd) zstd -q -c "$image" >"$file" ;;
    gzip) gzip -c "$image" >"$file" ;;
    xz) xz -T1 -c "$image" >"$file" ;;
  esac
  cat "$file" >/dev/null
  ours=() pipe=()
  for ((i = 1; i <= RUNS; i++)); do
    # `bty-web inspect <format>: <MB/s> MB/s uncompressed (<s> s, <n> bytes, sha256 <hex>)`
    t0=$(now)
    line=$("$BENCH" "$file")
    t1=$(now)
    got=$(sed -nE 's/.*sha256 ([0-9a-f]{64}).*/\1/p' <<<"$line")
    [[ $got == "$sha" ]] || die "bty-web's sha256 of $format is not the image's: $line"
    ours+=("$(elapsed "$t0" "$t1" 4)")

    t0=$(now)
    out=$("$format" -dc "$file" | openssl dgst -sha256 -r)
    t1=$(now)
    [[ ${out%% *} == "$sha" ]] || die "$format -dc | openssl gave ${out%% *}, not the image's sha256"
    pipe+=("$(elapsed "$t0" "$t1" 4)")
    echo "bench: run $i $format: bty-web ${ours[-1]} s, $format -dc | openssl ${pipe[-1]} s"
  done
  o=$(median "${ours[@]}")
  p=$(median "${pipe[@]}")
  rows+=("$format $(stat -c %s "$file") $o $p")
  awk -v o="$o" -v p="$p" -v g="$GOAL" 'BEGIN { exit (o / p <= g) ? 0 : 1 }' || all_met=0
done

echo
printf '%s\n' "${rows[@]}" | awk -v size="$SIZE_MIB" -v runs="$RUNS" -v goal="$GOAL" -v sha="$sha" '
BEGIN {
  printf "decompress + SHA-256 of a %d MiB disk-like image (sha256 %s), file in page cache,\n", size, sha
  printf "median of %d runs (other work on the machine makes single runs noisy)\n", runs
  printf "%-6s %12s %12s %14s %8s %8s\n", "format", "file MiB", "bty-web s", "pipe s", "ratio", "goal"
}
{
  ratio = $3 / $4
  printf "%-6s %12.1f %12.3f %14.3f %8.2f %8s\n", $1, $2 / 1048576, $3, $4, ratio, (ratio <= goal ? "met" : "NOT met")
}
END { printf "pipe = `<format> -dc FILE | openssl dgst -sha256`; goal: ratio <= %.1f\n", goal }'
if ((!all_met)) && [[ ${BENCH_STRICT:-0} == 1 ]]; then exit 1; fi
exit 0
