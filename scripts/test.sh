#!/usr/bin/env bash
# Runs the whole test suite: installs what the tests need on a fresh machine, then runs every
# unit and integration test (with nextest when it is installed) and every doc test.
set -euo pipefail
cd "$(dirname "$0")/.."

# The monitoring tests run real Prometheus, node exporter and Alertmanager processes on loopback;
# the fleet test adds VictoriaMetrics and vmalert (package victoria-metrics); the real-server
# tests fetch with curl.
if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1 \
  || ! command -v prometheus-node-exporter >/dev/null 2>&1 || ! command -v prometheus-alertmanager >/dev/null 2>&1 \
  || ! command -v victoria-metrics >/dev/null 2>&1 || ! command -v vmalert >/dev/null 2>&1 \
  || ! command -v curl >/dev/null 2>&1; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "installing Debian's prometheus, prometheus-node-exporter, prometheus-alertmanager, victoria-metrics and curl packages"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq prometheus prometheus-node-exporter prometheus-alertmanager victoria-metrics curl >/dev/null
fi

# The gRPC tests call the example server with Python's grpcio as well as tonic's client.
if ! python3 -c 'import grpc' >/dev/null 2>&1; then
  echo "installing grpcio from PyPI"
  python3 -m pip install --quiet --disable-pip-version-check grpcio
fi

# The live stats page is tested in a real browser: Debian's Chromium, driven through ChromeDriver.
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "installing Debian's chromium and chromium-driver packages"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium chromium-driver >/dev/null
fi

if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --all-features --lib --tests --no-fail-fast
else
  cargo test --all-features --lib --tests --no-fail-fast
fi
# nextest does not run doc tests; the README's examples are among them.
cargo test --all-features --doc
