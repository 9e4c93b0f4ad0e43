#!/usr/bin/env bash
# Instructions and allocations per request for each stack, counted by valgrind's callgrind
# over the measured loop only (`measured_loop` in integrations/benches/instructions.rs; set-up and warm-up
# are not collected). Each stack runs N1 and N2 requests; (I(N2) - I(N1)) / (N2 - N1) cancels
# what the loop costs once. Each figure is the median of three runs. Stacks without request
# logs repeat exactly for one build; the two that format log lines vary by some tens of
# instructions, since the time they format varies.
#
# BREAKDOWN=1 also prints, for the README set-up's stack, the inclusive cost per request of
# every routemeter function, and the self cost per request of every function whose cost
# differs from the wrapping layer's stack by at least 2 (over the N2 runs).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is required (apt-get install valgrind)"; exit 1; }
N1=${N1:-2000}
N2=${N2:-12000}

# The binary cargo built, by its own account (wherever CARGO_TARGET_DIR puts it).
bin=$(cargo bench -q -p routemeter-integrations --bench instructions --no-run --message-format=json-render-diagnostics \
  | sed -n 's/.*"executable":"\([^"]*instructions-[^"]*\)".*/\1/p' | tail -1)
[ -x "$bin" ] || { echo "could not find the instructions benchmark's binary"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Prints "instructions allocations" of stack $1 with $2 requests; leaves the profile in $3.
run() {
  local out
  out=$(valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*measured_loop*' \
    --callgrind-out-file="$3" "$bin" "$1" "$2" 2>/dev/null)
  printf '%s %s\n' "$(awk '/^(totals|summary):/ {print $2; exit}' "$3")" \
    "$(sed -n 's/^allocations: //p' <<<"$out")"
}

mapfile -t stacks < <("$bin")
noop=""
printf '%-58s %12s %9s %12s %9s\n' stack instr/req added allocs/req added
for line in "${stacks[@]}"; do
  i=${line%%:*}; name=${line#*: }
  instr=(); allocs=()
  for _ in 1 2 3; do
    read -r ia aa < <(run "$i" "$N1" "$work/a")
    read -r ib ab < <(run "$i" "$N2" "$work/b.$i")
    instr+=($(( (ib - ia) / (N2 - N1) )))
    allocs+=("$(awk -v a="$aa" -v b="$ab" -v n="$((N2 - N1))" 'BEGIN {printf "%.2f", (b - a) / n}')")
  done
  imed=$(printf '%s\n' "${instr[@]}" | sort -n | sed -n 2p)
  amed=$(printf '%s\n' "${allocs[@]}" | sort -n | sed -n 2p)
  if [ "$i" = 1 ]; then noop_i=$imed; noop_a=$amed; fi
  if [ "$i" -le 1 ]; then
    printf '%-58s %12s %9s %12s %9s\n' "$name" "$imed" "" "$amed" ""
  else
    printf '%-58s %12s %9s %12s %9s\n' "$name" "$imed" "+$((imed - noop_i))" "$amed" \
      "$(awk -v a="$amed" -v b="$noop_a" 'BEGIN {printf "%+.2f", a - b}')"
  fi
done
echo "(added: over the no-op layer)"

if [ "${BREAKDOWN:-0}" = 1 ]; then
  echo
  echo "inclusive instructions per request of routemeter's functions (README set-up, $N2 requests):"
  callgrind_annotate --inclusive=yes --threshold=100 "$work/b.2" 2>/dev/null \
    | awk -v n="$N2" '/routemeter::/ { gsub(",", "", $1); if ($1 / n >= 1) printf "%8.0f  %s\n", $1 / n, substr($0, index($0, $2)) }' \
    | sed 's/ \[[^]]*\]$//' | head -60
  echo
  echo "self instructions per request, README set-up minus the wrapping layer (functions that differ by 2 or more):"
  for i in 2 10; do
    callgrind_annotate --auto=no --threshold=100 "$work/b.$i" 2>/dev/null >"$work/self.$i"
  done
  python3 - "$work/self.10" "$work/self.2" "$N2" <<'PY'
import re, sys
def load(path, n):
    costs = {}
    for line in open(path):
        m = re.match(r"\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(\S.*?)(?: \[[^]]*\])?$", line)
        if not m or "PROGRAM TOTALS" in line:
            continue
        name = m.group(2).split(":", 1)[-1]
        # The wrappers of the two stacks play the same part: compare them with each other.
        name = re.sub(r"(routemeter::\w+::Response|instructions::support::wrap::Wrap)(Body|Future)", r"<wrapper \2>", name)
        costs[name] = costs.get(name, 0) + int(m.group(1).replace(",", "")) / n
    return costs
wrap, ours = load(sys.argv[1], int(sys.argv[3])), load(sys.argv[2], int(sys.argv[3]))
rows = sorted(((ours.get(k, 0) - wrap.get(k, 0), k) for k in set(wrap) | set(ours)), key=lambda r: -abs(r[0]))
for diff, name in rows:
    if abs(diff) >= 2:
        print(f"{diff:+8.0f}  {name[:150]}")
print(f"{sum(d for d, _ in rows):+8.0f}  in all")
PY
fi
