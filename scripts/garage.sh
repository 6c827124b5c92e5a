#!/usr/bin/env bash
# A throwaway Garage (S3-compatible object store) on 127.0.0.1, for the
# tests of BTY_STORAGE_URL=s3://… (garage 2.5.0, which scripts/setup.sh
# installs with cargo). Single node, one bucket and one access key made at
# start from GARAGE_DEFAULT_* (`garage server --single-node --default-bucket`).
#
#   scripts/garage.sh start DIR   # prints BTY_TEST_S3_* assignments: the
#                                 # endpoint, region, bucket, key id, secret
#   scripts/garage.sh stop DIR
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

usage() { echo "usage: scripts/garage.sh start|stop DIR" >&2; exit 2; }
[[ $# == 2 ]] || usage
command=$1 dir=$2
hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }

case $command in
  start)
    command -v garage >/dev/null || { echo "garage: not installed (run scripts/setup.sh)" >&2; exit 1; }
    mkdir -p "$dir/meta" "$dir/data"
    s3_port=$(free_port)
    rpc_port=$(free_port)
    while [[ $rpc_port == "$s3_port" ]]; do rpc_port=$(free_port); done
    cat >"$dir/garage.toml" <<TOML
metadata_dir = "$dir/meta"
data_dir = "$dir/data"
db_engine = "sqlite"
replication_factor = 1
metadata_fsync = false
data_fsync = false
rpc_bind_addr = "127.0.0.1:$rpc_port"
rpc_public_addr = "127.0.0.1:$rpc_port"
rpc_secret = "$(hex 32)"

[s3_api]
s3_region = "garage"
api_bind_addr = "127.0.0.1:$s3_port"
TOML
    chmod 0600 "$dir/garage.toml"
    key_id=GK$(hex 12)
    secret=$(hex 32)
    bucket=bty-test
    GARAGE_DEFAULT_ACCESS_KEY=$key_id GARAGE_DEFAULT_SECRET_KEY=$secret GARAGE_DEFAULT_BUCKET=$bucket \
      RUST_LOG=${GARAGE_LOG:-garage=warn} \
      garage -c "$dir/garage.toml" server --single-node --default-bucket \
      </dev/null >"$dir/garage.log" 2>&1 &
    echo $! >"$dir/garage.pid"
    # The bucket and key exist before the S3 API listens: any answer will do.
    for ((i = 0; i < 600; i++)); do
      [[ $(http_status "http://127.0.0.1:$s3_port/") != 000 ]] && break
      kill -0 "$(cat "$dir/garage.pid")" 2>/dev/null || { cat "$dir/garage.log" >&2; exit 1; }
      sleep 0.1
    done
    [[ $(http_status "http://127.0.0.1:$s3_port/") != 000 ]] || {
      echo "garage: no answer on 127.0.0.1:$s3_port within 60 s" >&2; cat "$dir/garage.log" >&2; exit 1; }
    echo "BTY_TEST_S3_ENDPOINT=http://127.0.0.1:$s3_port"
    echo "BTY_TEST_S3_REGION=garage"
    echo "BTY_TEST_S3_BUCKET=$bucket"
    echo "BTY_TEST_S3_ACCESS_KEY_ID=$key_id"
    echo "BTY_TEST_S3_SECRET_ACCESS_KEY=$secret"
    ;;
  stop)
    if [[ -f $dir/garage.pid ]]; then
      pid=$(cat "$dir/garage.pid")
      kill -TERM "$pid" 2>/dev/null || true
      for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
      rm -f "$dir/garage.pid"
    fi
    ;;
  *) usage ;;
esac
