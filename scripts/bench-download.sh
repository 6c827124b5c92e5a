#!/usr/bin/env bash
# Benchmark (not a test) of downloads into the cache, from a local nginx on
# 127.0.0.1, two figures:
#  1. a 2 GiB download (POST /catalog/downloads until its job completes),
#     best of 3, beside `curl -s URL | openssl dgst -sha256` on the same URL
#     (goal: at most 1.1 x that), and beside `curl -o FILE` + `sync`: bty-web
#     syncs the cached file to disk before the job completes, so that one is
#     the disk's floor for a download that survives a power cut;
#  2. the server's peak RSS (VmHWM) while four 1 GiB downloads run at once
#     (goal: under 100 MiB).
#
#   scripts/bench-download.sh        BENCH_SIZE_MIB=2048 BENCH_RUNS=3
#
# nginx is installed from Debian's packages when it is missing (its service
# is stopped again at once: the benchmark runs its own on a free port).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

RUNS=${BENCH_RUNS:-3}
SIZE_MIB=${BENCH_SIZE_MIB:-2048}
as_root() { if [[ $(id -u) == 0 ]]; then "$@"; else sudo "$@"; fi; }
need curl openssl
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
if [[ ! -x $NGINX ]]; then
  echo "bench: installing nginx-light from Debian's packages"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx-light </dev/null >/dev/null
  as_root service nginx stop >/dev/null 2>&1 || true
fi

echo "bench: building target/release/bty-web"
cargo build --release --quiet -p server --bin bty-web

work=$(mktemp -d "${TMPDIR:-/tmp}/bty-bench-download.XXXXXX")
server= web=
cleanup() {
  [[ -n $server ]] && stop_process "$server" 10
  [[ -n $web ]] && stop_process "$web" 5
  rm -rf "$work"
}
trap cleanup EXIT

# nginx serving $work/www on 127.0.0.1 only, in the foreground.
mkdir -p "$work/www" "$work/nginx"
web_port=$(free_port)
cat >"$work/nginx/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  sendfile on;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  server {
    listen 127.0.0.1:$web_port;
    root $work/www;
  }
}
EOF
"$NGINX" -c "$work/nginx/nginx.conf" -p "$work/nginx" &
web=$!
origin=http://127.0.0.1:$web_port

start_server() {
  port=$(free_port)
  base=http://127.0.0.1:$port
  BTY_WEB_HOST=127.0.0.1 BTY_WEB_PORT=$port BTY_STATE_DIR=$work/state BTY_ADMIN_PASSWORD=bench \
    BTY_CATALOG_MAX_PARALLEL=4 BTY_SITE_ROOT=target/site RUST_LOG=warn \
    target/release/bty-web >>"$work/server.log" 2>&1 &
  server=$!
  wait_healthy "$base/healthz" "$server" 60 || die "bty-web did not start; see $work/server.log"
  curl -s -o /dev/null -c "$work/jar" -d username=admin -d password=bench "$base/ui/login"
}
api() { # METHOD PATH [JSON]: the body; dies on a status >= 400
  local code
  code=$(curl -s -o "$work/answer.json" -w '%{http_code}' -b "$work/jar" -X "$1" \
    -H 'Content-Type: application/json' -H "Origin: $base" ${3:+--data "$3"} "$base$2")
  ((code < 400)) || die "$1 $2 answered $code: $(cat "$work/answer.json")"
  cat "$work/answer.json"
}
add_entry() { api POST /catalog/entries "{\"image_url\":\"$origin/$1\"}" >/dev/null; }
# status_of NAME: "<status> <sha256>" of NAME's download. curl and sed, not
# node: polling must not take the CPU the download it times needs.
status_of() {
  curl -s -b "$work/jar" "$base/catalog/downloads" |
    sed -nE "s/.*\\{\"name\":\"$1\",\"sha256\":\"?([0-9a-f]*|null)\"?,\"src\":\"[^\"]*\",\"status\":\"([a-z]+)\".*/\\2 \\1/p"
}
wait_done() { # NAME...: until every one is completed; dies on failed/cancelled
  local name state
  for name in "$@"; do
    while :; do
      state=$(status_of "$name")
      case $state in
        completed*) break ;;
        failed* | cancelled*) die "download of $name: $state" ;;
      esac
      sleep 0.05
    done
  done
}
download() { # NAME: fetch it into an empty cache and wait for the end
  api POST /catalog/downloads "{\"name\":\"$1\"}" >/dev/null
  wait_done "$1"
}

echo "bench: writing $SIZE_MIB MiB of random bytes"
head -c "$((SIZE_MIB * 1024 * 1024))" /dev/urandom >"$work/www/bench.img"
bytes=$(stat -c %s "$work/www/bench.img")
want=$(openssl dgst -sha256 "$work/www/bench.img" | awk '{print $NF}')
start_server
add_entry bench.img

dl='' ref='' disk=''
for ((i = 1; i <= RUNS; i++)); do
  api DELETE /catalog/cache/bench.img >/dev/null
  sync
  d=$(timed download bench.img)
  r=$(timed bash -c "curl -s '$origin/bench.img' | openssl dgst -sha256")
  c=$(timed bash -c "curl -s -o '$work/copy.img' '$origin/bench.img' && sync")
  rm -f "$work/copy.img"; sync
  echo "bench: run $i: bty-web download ${d}s, curl | openssl ${r}s, curl -o + sync ${c}s"
  dl=$(best "$dl" "$d"); ref=$(best "$ref" "$r"); disk=$(best "$disk" "$c")
done
got=$(status_of bench.img | awk '{print $2}')
[[ $got == "$want" ]] || die "the download's sha256 '$got' is not openssl's $want"
[[ -f $work/state/cache/$want ]] || die "no cache/$want after the download"

echo
echo "download of $((bytes / 1048576)) MiB from nginx on loopback, best of $RUNS (sha256 agrees with openssl)"
awk -v d="$dl" -v r="$ref" -v c="$disk" -v b="$bytes" 'BEGIN {
  printf "%-40s %8s %9s\n", "", "seconds", "MB/s"
  printf "%-40s %8.3f %9.0f\n", "bty-web download (POST to completed)", d, b / d / 1e6
  printf "%-40s %8.3f %9.0f\n", "curl -s URL | openssl dgst -sha256", r, b / r / 1e6
  printf "%-40s %8.3f %9.0f\n", "curl -o FILE + sync", c, b / c / 1e6
  printf "ratio download / curl | openssl: %.2f (goal <= 1.10)\n", d / r
  printf "ratio download / curl -o + sync: %.2f\n", d / c
}'

echo
echo "bench: four 1 GiB downloads at once, on a freshly started server"
rm -f "$work/www/bench.img"
for n in 1 2 3 4; do
  head -c $((1024 * 1024 * 1024)) /dev/urandom >"$work/www/parallel-$n.img"
done
stop_process "$server" 10
start_server
before=$(awk '/VmHWM/ {print $2}' "/proc/$server/status")
for n in 1 2 3 4; do
  add_entry "parallel-$n.img"
  api POST /catalog/downloads "{\"name\":\"parallel-$n.img\"}" >/dev/null
done
wait_done parallel-1.img parallel-2.img parallel-3.img parallel-4.img
after=$(awk '/VmHWM/ {print $2}' "/proc/$server/status")
awk -v a="$before" -v b="$after" 'BEGIN {
  printf "server peak RSS (VmHWM): %.1f MiB before, %.1f MiB after four parallel 1 GiB downloads (goal < 100 MiB)\n", a / 1024, b / 1024
}'
