#!/usr/bin/env bash
# Install what building, running and testing bty-web needs, and nothing more.
#
# Idempotent and quiet when everything is already there (one summary line).
# Works on a fresh Debian 12 machine whose only network access is the package
# registries (crates.io, npm, Debian apt), as root or with sudo:
#   - Debian packages: chromium (the end-to-end test drives it through
#     playwright-core, which cannot download a browser here) and openssl
#     (the reference of scripts/bench-hash.sh), postgresql (the test suite
#     runs the integration tests on a throwaway PostgreSQL server too) and
#     docker-registry (the CNCF distribution registry 2.8: the `oras://`
#     tests start it on 127.0.0.1 and push to it; its own service, which
#     apt would start on :5000, is disabled right after the install),
#     qemu-utils (qemu-img makes the qcow2 fixtures of the inspection tests),
#     fdisk (sfdisk writes their MBR and GPT disks) and the compressors the
#     inspection tests and scripts/bench-inspect.sh run (gzip, xz-utils,
#     zstd, bzip2), and nginx (the load balancer of the cluster tests and
#     of the second end-to-end run; its own service is disabled likewise);
#   - the Rust toolchain pinned in rust-toolchain.toml, its rustfmt and clippy,
#     and the wasm32-unknown-unknown target for the browser bundle;
#   - wasm-bindgen-cli at exactly the version of `wasm-bindgen` in Cargo.lock;
#   - Garage 2.5.0, the S3-compatible object store the cluster tests write
#     to (`cargo install`, about 9 minutes on two cores, once: later runs
#     find it in ~/.cargo/bin);
#   - the end-to-end test's npm packages (end2end/node_modules, from the lock).
#
# Deliberately NOT installed:
#   - cargo-leptos: scripts/build.sh builds the site with plain cargo and
#     wasm-bindgen (cargo-leptos would try to download wasm-bindgen/wasm-opt
#     from GitHub, and `cargo install cargo-leptos --locked` fails on 1.95);
#   - wasm-opt: Debian's binaryen (108) miscompiles wasm-bindgen's externref
#     table and hydration dies in the browser; wasm-bindgen's
#     --remove-name-section gives the same gzipped size.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

# Two setups at once (run.sh in one terminal, test.sh in another) would run
# two `cargo install`s or two `npm ci`s into the same place: take turns.
if command -v flock >/dev/null && [[ -z ${BTY_SETUP_LOCKED:-} ]]; then
  export BTY_SETUP_LOCKED=1
  exec flock "${TMPDIR:-/tmp}/bty-web-setup.lock" bash "$PWD/scripts/setup.sh" "$@"
fi

as_root() {
  if [[ $(id -u) == 0 ]]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else die "need root (or sudo) for: $*"
  fi
}

# 1. Debian packages, `apt-get update` only when something is missing.
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v openssl >/dev/null || missing+=(openssl)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
command -v flock >/dev/null || missing+=(util-linux)
[[ -x /usr/bin/docker-registry ]] || missing+=(docker-registry)
command -v qemu-img >/dev/null || missing+=(qemu-utils)
[[ -x /usr/sbin/sfdisk ]] || missing+=(fdisk)
command -v gzip >/dev/null || missing+=(gzip)
command -v xz >/dev/null || missing+=(xz-utils)
command -v zstd >/dev/null || missing+=(zstd)
command -v bzip2 >/dev/null || missing+=(bzip2)
[[ -x /usr/sbin/nginx ]] || missing+=(nginx)
if ((${#missing[@]})); then
  say "installing Debian packages: ${missing[*]} (chromium takes about a minute)"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq </dev/null
  as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >/dev/null
  # The tests run their own registry; the package's service would listen
  # on every interface. Only right after installing it, so an operator's
  # own use of that service is never touched on later runs.
  if [[ " ${missing[*]} " == *" docker-registry "* ]] && [[ -d /run/systemd/system ]]; then
    as_root systemctl disable --now docker-registry.service >/dev/null 2>&1 || true
  fi
  # Likewise nginx's own site on :80: the tests start nginx with their own
  # configuration (deploy/nginx-bty-web.conf) on a loopback port.
  if [[ " ${missing[*]} " == *" nginx "* ]] && [[ -d /run/systemd/system ]]; then
    as_root systemctl disable --now nginx.service >/dev/null 2>&1 || true
  fi
fi

# 2. The pinned Rust toolchain, its components and the wasm32 target.
#    RUSTUP_AUTO_INSTALL=0 may be set here, so cargo would not fetch the
#    rust-toolchain.toml channel by itself.
command -v rustup >/dev/null || die "rustup not found (install Rust with rustup first)"
channel=$(awk -F'"' '/^[[:space:]]*channel[[:space:]]*=/{print $2; exit}' rust-toolchain.toml)
[[ -n $channel ]] || die "no channel in rust-toolchain.toml"
if ! rustup run "$channel" rustc --version >/dev/null 2>&1; then
  host=$(rustc +stable -vV 2>/dev/null | awk '/^host:/{print $2}' || true)
  stable_dir="${RUSTUP_HOME:-$HOME/.rustup}/toolchains/stable-$host"
  if [[ -n $host && $(rustc +stable --version 2>/dev/null) == "rustc $channel "* && -d $stable_dir ]]; then
    # The machine's stable toolchain IS the pinned release: reuse it instead
    # of downloading the same compiler a second time.
    say "toolchain $channel = installed stable; linking it"
    ln -sfn "$stable_dir" "${RUSTUP_HOME:-$HOME/.rustup}/toolchains/$channel-$host"
  else
    say "installing Rust $channel"
    rustup toolchain install "$channel" --profile minimal
  fi
fi
installed_components=$(rustup component list --installed --toolchain "$channel")
want_components=()
for c in rustfmt clippy; do
  grep -q "^$c-" <<<"$installed_components" || want_components+=("$c")
done
if ((${#want_components[@]})); then
  say "adding Rust components: ${want_components[*]}"
  rustup component add --toolchain "$channel" "${want_components[@]}"
fi
if ! rustup target list --installed --toolchain "$channel" | grep -qx wasm32-unknown-unknown; then
  say "adding Rust target wasm32-unknown-unknown"
  rustup target add --toolchain "$channel" wasm32-unknown-unknown
fi

# 3. wasm-bindgen-cli, exactly the wasm-bindgen version in Cargo.lock (the
#    CLI refuses a module built by another version). Not --locked: its
#    published lockfile names a webpki-roots release the registry does not
#    serve.
[[ -f Cargo.lock ]] || cargo generate-lockfile
wb=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/[^0-9.]/, ""); print; exit}' Cargo.lock)
[[ -n $wb ]] || die "no wasm-bindgen in Cargo.lock"
if [[ $(wasm-bindgen --version 2>/dev/null) != "wasm-bindgen $wb" ]]; then
  say "installing wasm-bindgen-cli $wb (about 5 minutes on 2 cores)"
  cargo install wasm-bindgen-cli --version "$wb" --force --quiet
  [[ $(wasm-bindgen --version 2>/dev/null) == "wasm-bindgen $wb" ]] ||
    die "wasm-bindgen-cli $wb installed but \`wasm-bindgen --version\` says: $(wasm-bindgen --version 2>&1)"
fi

# 4. Garage, the S3 server of the object-store tests (scripts/garage.sh).
#    Without its default features (no LMDB, no Consul or Kubernetes
#    discovery): SQLite metadata, with its C libraries built in.
garage_version=2.5.0
# `garage --version` says `garage cargo:2.5.0 [features: …]`.
if ! garage --version 2>/dev/null | grep -qE "[:v ]${garage_version//./\\.}( |\$)"; then
  say "installing garage $garage_version (about 9 minutes on 2 cores)"
  cargo install --locked "garage@$garage_version" --no-default-features \
    --features bundled-libs,sqlite --force --quiet
fi

# 5. End-to-end test dependencies (playwright-core only; it drives
#    /usr/bin/chromium). `npm ci` only when node_modules is missing or was
#    installed from another lock.
command -v npm >/dev/null || die "npm not found (Node.js 20 with npm is expected on this machine)"
lock_sum=$(sha256sum end2end/package.json end2end/package-lock.json | sha256sum | cut -d' ' -f1)
stamp=end2end/node_modules/.bty-lock-sha256
if [[ ! -d end2end/node_modules/playwright-core || $(cat "$stamp" 2>/dev/null) != "$lock_sum" ]]; then
  say "installing end2end npm packages (npm ci)"
  (cd end2end && npm ci --no-audit --no-fund --loglevel=error </dev/null >/dev/null)
  echo "$lock_sum" >"$stamp"
fi

say "ok: rust $channel, wasm-bindgen $wb, $(chromium --version 2>/dev/null | head -1), docker-registry $(docker-registry --version 2>/dev/null | awk '{print $3}'), garage $garage_version, playwright-core $(node -p 'require("./end2end/node_modules/playwright-core/package.json").version')"
