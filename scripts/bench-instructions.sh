#!/usr/bin/env bash
# Instructions per request for each stack, counted by valgrind's callgrind on the main thread.
# Each stack runs N1 and N2 in-process requests; (I(N2) - I(N1)) / (N2 - N1) cancels set-up
# costs. Counts vary by a few percent between runs (hash seeds, allocator state), so each
# figure is the median of three runs.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is required (apt-get install valgrind)"; exit 1; }
N1=${N1:-10000}
N2=${N2:-30000}

cargo bench --bench instructions --no-run 2>/dev/null
bin=$(ls -t target/release/deps/instructions-* | grep -v '\.d$' | head -1)

main_thread_ir() {
  local dir; dir=$(mktemp -d)
  valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$dir/cg" "$bin" "$1" "$2" >/dev/null 2>&1
  grep -h '^totals:\|^summary:' "$dir/cg-01" | head -1 | awk '{print $2}'
  rm -rf "$dir"
}

mapfile -t stacks < <("$bin")
bare=""
printf '%-48s %14s %14s\n' stack instr/request added
for line in "${stacks[@]}"; do
  i=${line%%:*}; name=${line#*: }
  runs=()
  for _ in 1 2 3; do
    a=$(main_thread_ir "$i" "$N1"); b=$(main_thread_ir "$i" "$N2")
    runs+=($(( (b - a) / (N2 - N1) )))
  done
  median=$(printf '%s\n' "${runs[@]}" | sort -n | sed -n 2p)
  [ -z "$bare" ] && bare=$median
  printf '%-48s %14s %14s\n' "$name" "$median" "+$((median - bare))"
done
