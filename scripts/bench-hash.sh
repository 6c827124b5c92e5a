#!/usr/bin/env bash
# Benchmark (not a test) of bty-web's hashing against `openssl dgst -sha256`
# on the same file in the page cache, two figures:
#  1. the hash worker's SHA-256 throughput, best of the runs (goal: at least
#     0.9 x openssl's);
#  2. a drop: the file, copied just before (so its mtime is fresh), renamed
#     into the image root of a running bty-web, with no trigger; the time
#     from the rename until GET /catalog/entries shows its sha, median of
#     the runs (goal: at most 1.05 x openssl's time on the same file).
#
#   scripts/bench-hash.sh
#
#   BENCH_FILE=/path/to/file   hash this file instead of a fresh random one
#   BENCH_SIZE_MIB=1024        size of the random file (default 1 GiB)
#   BENCH_RUNS=3               runs of each figure
#   BENCH_STRICT=1             exit 1 when a goal is not met
#   BENCH_BTY_WEB=/path        drop into this bty-web instead of the one built
#                              (to compare with another revision)
#
# MB/s are 10^6 bytes per second. bty-web's throughput comes from the
# hashing time the bench binary reports (start-up excluded); openssl's from
# its wall time (start-up included, a few ms). Both wall times are shown too.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh

RUNS=${BENCH_RUNS:-3}
SIZE_MIB=${BENCH_SIZE_MIB:-1024}
GOAL=0.9
DROP_GOAL=1.05
need curl node openssl

echo "bench: building target/release/bty-bench-hash and bty-web"
cargo build --release --quiet -p server --bin bty-bench-hash --bin bty-web
tmp= work= server= bin=
cleanup() {
  [[ -n $server ]] && stop_process "$server" 10
  [[ -n $tmp ]] && rm -rf "$tmp"
  [[ -n $work ]] && rm -rf "$work"
  [[ -n $bin ]] && rm -rf "$bin"
}
trap cleanup EXIT
# Copies, so a build of another checkout into a shared target directory
# cannot swap them mid-run.
bin=$(mktemp -d "${TMPDIR:-/tmp}/bty-bench-bin.XXXXXX")
cp "${CARGO_TARGET_DIR:-target}/release/bty-bench-hash" "${CARGO_TARGET_DIR:-target}/release/bty-web" "$bin/"
BENCH=$bin/bty-bench-hash
[[ -z ${BENCH_BTY_WEB:-} ]] || cp "$BENCH_BTY_WEB" "$bin/bty-web"
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

# 2. The drop. The copy sits beside the image root (a rename, not a copy,
# puts it in), is synced so no write-back runs during the timing, then
# touched: a file copied just before its rename has a fresh mtime.
echo
work=$(mktemp -d "${TMPDIR:-/tmp}/bty-bench-drop.XXXXXX")
root=$work/state/images
port=$(free_port)
base=http://127.0.0.1:$port
BTY_WEB_HOST=127.0.0.1 BTY_WEB_PORT=$port BTY_STATE_DIR=$work/state BTY_ADMIN_PASSWORD=bench \
  BTY_SITE_ROOT=target/site RUST_LOG=warn "$bin/bty-web" >"$work/server.log" 2>&1 &
server=$!
wait_healthy "$base/healthz" "$server" 60 || die "bty-web did not start; see $work/server.log"
curl -s -o /dev/null -c "$work/jar" -d username=admin -d password=bench "$base/ui/login"
cookie=$(awk '$6 == "bty-token" { print $7 }' "$work/jar")
[[ -n $cookie ]] || die "login to bty-web failed"

# drop FROM TO NAME: renames FROM to TO, then asks GET /catalog/entries
# every 5 ms (one request at a time, on one kept-alive connection, so the
# polling takes little of the CPU the hash needs) until the entry NAME has
# a sha; prints "<seconds> <sha256>", timed from just before the rename.
drop() {
  node -e '
    const fs = require("node:fs");
    const [from, to, name, url, cookie] = process.argv.slice(1);
    const headers = { cookie: `bty-token=${cookie}` };
    const entries = async () => {
      const response = await fetch(url, { headers });
      if (response.status !== 200) throw new Error(`GET ${url}: ${response.status}`);
      return response.json();
    };
    (async () => {
      await entries(); // the connection is open before the clock starts
      const t0 = performance.now();
      fs.renameSync(from, to);
      const deadline = t0 + 300e3;
      for (;;) {
        const row = (await entries()).find((r) => r.name === name);
        if (row && row.disk_image_sha) {
          const seconds = (performance.now() - t0) / 1e3;
          console.log(`${seconds.toFixed(4)} ${row.disk_image_sha}`);
          return;
        }
        if (performance.now() > deadline) throw new Error(`${name}: no sha after 300 s`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })().catch((error) => { console.error(String(error)); process.exit(1); });
  ' "$1" "$2" "$3" "$base/catalog/entries" "$cookie"
}

drops=() ssls=()
for ((i = 1; i <= RUNS; i++)); do
  name=drop-$i.img
  cp "$file" "$work/$name"
  sync
  touch "$work/$name"
  line=$(drop "$work/$name" "$root/$name" "$name") || die "drop $i failed; see $work/server.log"
  secs=${line%% *} sha=${line#* }
  [[ $sha == "$ssl_sha" ]] || die "drop $i: bty-web's sha256 $sha is not openssl's $ssl_sha"
  s=$(timed openssl dgst -sha256 "$root/$name")
  echo "bench: run $i: drop to sha ${secs}s, openssl ${s}s, ratio $(awk -v d="$secs" -v s="$s" 'BEGIN { printf "%.2f", d / s }')"
  drops+=("$secs") ssls+=("$s")
  rm -f "$root/$name" "$root/$name.sha256"
done

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo
awk -v bytes="$bytes" -v d="$(median "${drops[@]}")" -v s="$(median "${ssls[@]}")" -v goal="$DROP_GOAL" -v runs="$RUNS" '
BEGIN {
  ratio = d / s
  printf "Drop of %.0f MiB into the image root (renamed in, fresh mtime, no trigger), median of %d; sha256 agrees with openssl\n", bytes / 1048576, runs
  printf "%-44s %8s %9s\n", "", "seconds", "MB/s"
  printf "%-44s %8.3f %9.0f\n", "bty-web: rename until GET /catalog/entries sha", d, bytes / 1e6 / d
  printf "%-44s %8.3f %9.0f\n", "openssl dgst -sha256", s, bytes / 1e6 / s
  printf "%-44s %8.2f   (goal <= %.2f: %s)\n", "ratio bty-web / openssl", ratio, goal, (ratio <= goal ? "met" : "NOT met")
  exit (ratio <= goal) ? 0 : 1
}' && drop_met=1 || drop_met=0
if ((!met || !drop_met)) && [[ ${BENCH_STRICT:-0} == 1 ]]; then exit 1; fi
exit 0
