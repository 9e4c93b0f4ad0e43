#!/usr/bin/env bash
# Runs the whole test suite: installs what the tests need on a fresh machine, then runs every
# unit and integration test (with nextest when it is installed) and every doc test.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi

# Debian's packages, each for the tests that start it on loopback:
# - prometheus (with promtool), prometheus-node-exporter, prometheus-alertmanager: the
#   monitoring tests, which scrape the quickstart and deliver its alerts;
# - victoria-metrics (with vmalert): the fleet test's long-term store;
# - chromium, chromium-driver: the live page's browser tests;
# - curl: the real-server tests' external client;
# - python3-pip: the PyPI packages below.
apt_packages=()
for need in prometheus:prometheus promtool:prometheus prometheus-node-exporter:prometheus-node-exporter \
  prometheus-alertmanager:prometheus-alertmanager victoria-metrics:victoria-metrics vmalert:victoria-metrics \
  chromium:chromium chromedriver:chromium-driver curl:curl; do
  command -v "${need%%:*}" >/dev/null 2>&1 || apt_packages+=("${need#*:}")
done
python3 -m pip --version >/dev/null 2>&1 || apt_packages+=(python3-pip)
if [ "${#apt_packages[@]}" -gt 0 ]; then
  mapfile -t apt_packages < <(printf '%s\n' "${apt_packages[@]}" | sort -u)
  echo "installing Debian's ${apt_packages[*]}"
  if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${apt_packages[@]}" >/dev/null; }; then
    # CI must have every program; elsewhere the tests that need one skip, counted below.
    [ "${CI:-}" = true ] && { echo "could not install ${apt_packages[*]}"; exit 1; }
    echo "could not install ${apt_packages[*]}: the tests that need them will be skipped"
  fi
fi

# PyPI's packages, by name: grpcio (the gRPC tests' second client), opentelemetry-proto (the
# OTLP receiver decodes exports with the official definitions), locust (load against the
# quickstart) and prometheus-client (its parsers, the strict OpenMetrics one among them, check
# the expositions and the test kit's parser).
python_packages=()
python3 -c 'import grpc' >/dev/null 2>&1 || python_packages+=(grpcio)
python3 -c 'import opentelemetry.proto' >/dev/null 2>&1 || python_packages+=(opentelemetry-proto)
python3 -c 'import locust' >/dev/null 2>&1 || python_packages+=(locust)
python3 -c 'import prometheus_client' >/dev/null 2>&1 || python_packages+=(prometheus-client)
if [ "${#python_packages[@]}" -gt 0 ]; then
  echo "installing ${python_packages[*]} from PyPI"
  # A Debian-managed Python refuses plain installs (PEP 668); these are for the tests only.
  python3 -m pip install --quiet --disable-pip-version-check "${python_packages[@]}" 2>/dev/null \
    || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages "${python_packages[@]}"
fi

# Every test runs even when some fail: the doc tests (the README's examples among them; those that
# need an optional feature run, word for word, from docs/feature-examples.md) too.
# Tests whose external program is missing skip (outside CI) and note it here.
skipped="${CARGO_TARGET_DIR:-target}/tmp/routemeter-skipped.txt"
rm -f "$skipped"
status=0
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --all-features --lib --tests --no-fail-fast || status=$?
else
  cargo test --workspace --all-features --lib --tests --no-fail-fast || status=$?
fi
# nextest does not run doc tests.
cargo test --workspace --all-features --doc || status=$?
# The closing line: how many tests skipped for want of an external program, and which.
if [ -s "$skipped" ]; then
  sed 's/^/  /' "$skipped"
  echo "skipped: $(wc -l <"$skipped") tests, for want of: $(cut -d' ' -f2 "$skipped" | sort -u | tr '\n' ' ')"
else
  echo "skipped: 0 tests (every external program the tests start was found)"
fi
exit "$status"
