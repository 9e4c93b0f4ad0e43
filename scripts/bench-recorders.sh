#!/usr/bin/env bash
# The three Prometheus recorders side by side (integrations/benches/recorders.rs): memory per
# series, time per observation, render time per series at three sizes and exactness under
# concurrent renders, then instructions per observation on a held handle, counted by valgrind's
# callgrind over the measured loop only: (I(N2) - I(N1)) / (N2 - N1), which cancels what the
# loop costs once.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is required (apt-get install valgrind)"; exit 1; }
N1=${N1:-20000}
N2=${N2:-120000}

bin=$(cargo bench -q -p routemeter-integrations --bench recorders --no-run --message-format=json-render-diagnostics \
  | sed -n 's/.*"executable":"\([^"]*recorders-[^"]*\)".*/\1/p' | tail -1)
[ -x "$bin" ] || { echo "could not find the recorders benchmark's binary"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$bin"
echo
instr() {
  valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*measured_loop*' \
    --callgrind-out-file="$work/out" "$bin" observe "$1" "$2" >/dev/null 2>&1
  awk '/^(totals|summary):/ {print $2; exit}' "$work/out"
}
printf '%-30s %18s\n' recorder "instr/observation"
for kind in routemeter prometheus-client metrics-exporter-prometheus routemeter-native; do
  a=$(instr "$kind" "$N1")
  b=$(instr "$kind" "$N2")
  printf '%-30s %18s\n' "$kind" "$(( (b - a) / (N2 - N1) ))"
done
