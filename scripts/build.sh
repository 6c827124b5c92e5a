#!/usr/bin/env bash
# Build the site and the server WITHOUT cargo-leptos: plain cargo for both
# halves, wasm-bindgen-cli for the browser glue (scripts/setup.sh installs it).
#
#   scripts/build.sh [release|dev]        (default: release)
#
# Produces
#   target/site/pkg/bty-web.js     wasm-bindgen's ES module (--target web)
#   target/site/pkg/bty-web.wasm   the hydrating client of the Images page
#                                  (frontend crate, feature page-images)
#   target/site/pkg/bty-web-{events,tokens,login}.{js,wasm}
#                                  the other pages' bundles (app::Bundle)
#   target/site/pkg/bty-web.css    style/main.css
#   target/site/...                everything under public/
#   target/release/bty-web         the server (target/debug/bty-web for dev)
# which is the layout cargo-leptos would produce for output-name "bty-web".
#
# No wasm-opt: Debian's binaryen breaks hydration (see TOOLCHAIN.md), and
# wasm-bindgen's --remove-name-section gets the same gzipped size.
#
# LEPTOS_OUTPUT_NAME=bty-web, which leptos reads at compile time to name the
# files above in the page, comes from .cargo/config.toml for every cargo
# command. Nothing else is exported here: in particular no RUSTFLAGS, which
# would give the server a different fingerprint from `cargo test` and
# `cargo clippy` and rebuild the whole shared target dir each time.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

MODE=${1:-release}
NAME=bty-web
TARGET_DIR=${CARGO_TARGET_DIR:-target}
FRONT_DIR=$TARGET_DIR/front # the wasm32 build's own target dir (other features than the server's)
SITE=$TARGET_DIR/site
case $MODE in
  release) WASM_PROFILE=wasm-release WASM_OUT=wasm-release SERVER_FLAGS=(--release) BIN_DIR=release
           BINDGEN_FLAGS=(--remove-name-section --remove-producers-section) ;;
  dev)     WASM_PROFILE=dev WASM_OUT=debug SERVER_FLAGS=() BIN_DIR=debug BINDGEN_FLAGS=() ;;
  *) echo "usage: $0 [release|dev]" >&2; exit 2 ;;
esac

say() { printf 'build: %s\n' "$*"; }
die() { printf 'build: error: %s\n' "$*" >&2; exit 1; }

# Check the inputs first, before minutes of compiling.
want=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/[^0-9.]/, ""); print; exit}' Cargo.lock 2>/dev/null || true)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
[[ -n $want && $want == "$have" ]] ||
  die "wasm-bindgen-cli ${have:-(not installed)} does not match wasm-bindgen ${want:-?} in Cargo.lock; run scripts/setup.sh"
[[ -f style/main.css ]] || die "style/main.css is missing"
[[ -d public ]] || die "public/ is missing"

# Everything goes to a fresh directory next to the live site, which is swapped
# in only once the server binary is built too: a running server never sees a
# half-written site, and a failed build leaves the previous site and binary
# as they were (a matching pair).
NEW_SITE=$(mktemp -d "$TARGET_DIR/site.new.XXXXXX" 2>/dev/null || { mkdir -p "$TARGET_DIR" && mktemp -d "$TARGET_DIR/site.new.XXXXXX"; })
OLD_SITE=
cleanup() { rm -rf "$NEW_SITE" ${OLD_SITE:+"$OLD_SITE"}; }
trap cleanup EXIT
chmod 755 "$NEW_SITE"

# 1. The browser half: the frontend cdylib for wasm32, once per page (the
#    page-* features, app::Bundle), so that a page loads only its own code;
# 2. wasm-bindgen: the JS glue and the final .wasm of each, named like
#    cargo-leptos would (the Images page's bundle is the site's own name).
mkdir -p "$NEW_SITE/pkg"
for bundle in images:$NAME events:$NAME-events tokens:$NAME-tokens login:$NAME-login; do
  page=${bundle%%:*} out=${bundle#*:}
  say "client $out ($WASM_PROFILE, wasm32-unknown-unknown, page-$page)"
  cargo build -p frontend --lib --target wasm32-unknown-unknown --profile "$WASM_PROFILE" \
    --features "page-$page" --target-dir "$FRONT_DIR"
  WASM_IN=$FRONT_DIR/wasm32-unknown-unknown/$WASM_OUT/frontend.wasm
  [[ -f $WASM_IN ]] || die "cargo built no $WASM_IN"
  wasm-bindgen --target web --no-typescript --out-name "$out" --out-dir "$NEW_SITE/pkg" \
    "${BINDGEN_FLAGS[@]}" "$WASM_IN"
  mv "$NEW_SITE/pkg/${out}_bg.wasm" "$NEW_SITE/pkg/$out.wasm"
  # The glue's default URL still says ${out}_bg.wasm; leptos passes the real
  # one, but keep the file self-consistent for anyone importing it directly.
  sed -i "s/${out}_bg\.wasm/${out}.wasm/g" "$NEW_SITE/pkg/$out.js"
done

# 3. Styles and static assets (a plain copy; cargo-leptos would run
#    lightningcss here).
cp style/main.css "$NEW_SITE/pkg/$NAME.css"
cp -R public/. "$NEW_SITE/"
rm -f "$NEW_SITE/.gitkeep"

# 4. The server half.
say "server (${SERVER_FLAGS[*]:-debug})"
cargo build -p server --bin "$NAME" "${SERVER_FLAGS[@]}"
BIN=$TARGET_DIR/$BIN_DIR/$NAME
[[ -x $BIN ]] || die "cargo built no $BIN"

# 5. Swap the new site in: two renames, microseconds apart, no partial files.
if [[ -e $SITE ]]; then
  OLD_SITE=$TARGET_DIR/site.old.$$
  mv "$SITE" "$OLD_SITE"
fi
mv "$NEW_SITE" "$SITE"

# Sizes in bytes, exactly, and in KiB with one decimal rounded up: "250.0
# KiB" means at most 256,000 bytes, so an overshoot of the budget shows.
kib() { awk -v b="$1" 'BEGIN { t = int(b * 10 / 1024); if (t * 1024 < b * 10) t++; printf "%.1f", t / 10 }'; }
say "site   $SITE/pkg/$NAME.css and each page's .js and .wasm:"
for wasm in "$SITE/pkg/$NAME.wasm" "$SITE"/pkg/"$NAME"-*.wasm; do
  wasm_bytes=$(stat -c %s "$wasm")
  wasm_gz=$(gzip -9c "$wasm" | wc -c)
  say "       $(basename "$wasm") $wasm_bytes bytes ($(kib "$wasm_bytes") KiB)," \
    "$wasm_gz bytes gzipped ($(kib "$wasm_gz") KiB)"
done
say "server $BIN"
