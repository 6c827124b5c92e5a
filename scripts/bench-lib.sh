# Helpers shared by the benchmarks (sourced, not run): failing, checking
# for tools, and timing commands.
# shellcheck shell=bash

die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }

# need TOOL...: stop unless every one is on the PATH.
need() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || die "$tool not found; run scripts/setup.sh"
  done
}

now() { date +%s.%N; }
# elapsed T0 T1 [DIGITS]: seconds between two `now`s (3 decimals unless told).
elapsed() { awk -v a="$1" -v b="$2" -v d="${3:-3}" 'BEGIN { printf "%.*f", d, b - a }'; }
# best A B: the smaller, where A may be empty (no run yet).
best() { awk -v a="$1" -v b="$2" 'BEGIN { print (a == "" || b + 0 < a + 0) ? b : a }'; }
# timed CMD...: the seconds CMD took (its output dropped).
timed() { local t0 t1; t0=$(now); "$@" >/dev/null; t1=$(now); elapsed "$t0" "$t1"; }

# release_bin NAME: where cargo puts the release binary NAME (it honours
# CARGO_TARGET_DIR, as worktrees sharing one target directory set it).
release_bin() { printf '%s/release/%s' "${CARGO_TARGET_DIR:-target}" "$1"; }
# peak_rss_kib PID: the process's peak resident memory so far (VmHWM), KiB.
peak_rss_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
# median X...: the middle value (the mean of the two middle ones for an
# even count), for figures on a machine others share.
median() {
  printf '%s\n' "$@" | sort -g |
    awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
