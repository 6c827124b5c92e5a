#!/usr/bin/env bash
# Benchmark (not a test) of the object-store layer (server/src/storage)
# against curl on the same 1 GiB file and a throwaway Garage on 127.0.0.1
# (scripts/garage.sh), two figures, each the median of the runs:
#  1. upload: FILE streamed in 1 MiB chunks into a multipart upload, hashed
#     as it goes (sha known at the end), against `curl -T FILE` with a
#     SigV4-signed single PUT of the same bytes (goal: at most 1.25 x);
#  2. read: the whole object through the store's ranged-GET reader, against
#     `curl -o /dev/null` of the same object (goal: at most 1.2 x).
# This is the storage layer alone: the issue's figures through bty-web's
# HTTP routes come once the routes write and read through it.
#
#   scripts/bench-store.sh
#
#   BENCH_SIZE_MIB=1024  size of the random file (default 1 GiB)
#   BENCH_RUNS=3         runs of each figure
#   BENCH_STRICT=1       exit 1 when a goal is not met
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh

RUNS=${BENCH_RUNS:-3}
SIZE_MIB=${BENCH_SIZE_MIB:-1024}
UPLOAD_GOAL=1.25
READ_GOAL=1.2
need curl garage openssl

echo "bench: building target/release/bty-bench-store"
cargo build --release --quiet -p server --bin bty-bench-store
work=$(mktemp -d "${TMPDIR:-/tmp}/bty-bench-store.XXXXXX")
cleanup() {
  scripts/garage.sh stop "$work/garage" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
cp "$(release_bin bty-bench-store)" "$work/"
BENCH=$work/bty-bench-store
while IFS= read -r assignment; do export "${assignment?}"; done < <(scripts/garage.sh start "$work/garage")
s3() {
  curl -sS --fail --aws-sigv4 "aws:amz:$BTY_TEST_S3_REGION:s3" \
    --user "$BTY_TEST_S3_ACCESS_KEY_ID:$BTY_TEST_S3_SECRET_ACCESS_KEY" \
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@"
}
object_url() { printf '%s/%s/%s' "$BTY_TEST_S3_ENDPOINT" "$BTY_TEST_S3_BUCKET" "$1"; }

file=$work/random.img
echo "bench: writing $SIZE_MIB MiB of random bytes to $file"
head -c "$((SIZE_MIB * 1024 * 1024))" /dev/urandom >"$file"
bytes=$(stat -c %s "$file")
expected=$(openssl dgst -sha256 -r "$file" | cut -d' ' -f1)
cat "$file" >/dev/null

ours_up=() curl_up=() ours_read=() curl_read=()
for ((i = 1; i <= RUNS; i++)); do
  line=$("$BENCH" upload "$file" "bench/ours-$i")
  read -r secs sha <<<"$line"
  [[ $sha == "$expected" ]] || die "the store's sha256 $sha is not openssl's $expected"
  ours_up+=("$secs")
  secs=$(timed s3 -o /dev/null -T "$file" "$(object_url "bench/curl-$i")")
  curl_up+=("$secs")
  line=$("$BENCH" read "bench/ours-$i")
  read -r secs got <<<"$line"
  [[ $got == "$bytes" ]] || die "read $got bytes of $bytes"
  ours_read+=("$secs")
  secs=$(timed s3 -o /dev/null "$(object_url "bench/ours-$i")")
  curl_read+=("$secs")
  echo "bench: run $i: upload ours ${ours_up[-1]} s, curl ${curl_up[-1]} s; read ours ${ours_read[-1]} s, curl ${curl_read[-1]} s"
  s3 -o /dev/null -X DELETE "$(object_url "bench/ours-$i")"
  s3 -o /dev/null -X DELETE "$(object_url "bench/curl-$i")"
done

echo
awk -v mib="$((bytes / 1048576))" -v runs="$RUNS" -v sha="$expected" \
    -v ou="$(median "${ours_up[@]}")" -v cu="$(median "${curl_up[@]}")" \
    -v or="$(median "${ours_read[@]}")" -v cr="$(median "${curl_read[@]}")" \
    -v ug="$UPLOAD_GOAL" -v rg="$READ_GOAL" '
BEGIN {
  printf "Garage on 127.0.0.1, %d MiB of random bytes, median of %d; sha256 %s (the store and openssl agree)\n", mib, runs, sha
  printf "%-44s %9s %9s %7s\n", "", "ours s", "curl s", "ratio"
  u = ou / cu; r = or / cr
  printf "%-44s %9.3f %9.3f %7.2f  (goal <= %.2f: %s)\n", "upload, hashed (multipart) vs curl -T (PUT)", ou, cu, u, ug, (u <= ug ? "met" : "NOT met")
  printf "%-44s %9.3f %9.3f %7.2f  (goal <= %.2f: %s)\n", "read whole object vs curl -o /dev/null", or, cr, r, rg, (r <= rg ? "met" : "NOT met")
  exit (u <= ug && r <= rg) ? 0 : 1
}' && met=1 || met=0
((met || !${BENCH_STRICT:-0})) || exit 1
