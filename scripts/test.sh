#!/usr/bin/env bash
# Runs the whole test suite: installs what the tests need on a fresh machine, then runs every
# unit and integration test (with nextest when it is installed) and every doc test.
set -euo pipefail
cd "$(dirname "$0")/.."

# The monitoring tests run real Prometheus, node exporter and Alertmanager processes on loopback;
# the real-server tests fetch with curl.
if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1 \
  || ! command -v prometheus-node-exporter >/dev/null 2>&1 || ! command -v prometheus-alertmanager >/dev/null 2>&1 \
  || ! command -v curl >/dev/null 2>&1; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "installing Debian's prometheus, prometheus-node-exporter, prometheus-alertmanager and curl packages"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq prometheus prometheus-node-exporter prometheus-alertmanager curl >/dev/null
fi

# The platform tests decode OTLP exports with the official protobuf definitions
# (`opentelemetry-proto`) and load the quickstart with Locust: both from PyPI, by name.
python_packages=()
python3 -c 'import opentelemetry.proto' >/dev/null 2>&1 || python_packages+=(opentelemetry-proto)
python3 -c 'import locust' >/dev/null 2>&1 || python_packages+=(locust)
if [ "${#python_packages[@]}" -gt 0 ]; then
  echo "installing ${python_packages[*]} from PyPI"
  if ! python3 -m pip --version >/dev/null 2>&1; then
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-pip >/dev/null
  fi
  # A Debian-managed Python refuses plain installs (PEP 668); this one is for the tests only.
  python3 -m pip install --quiet --disable-pip-version-check "${python_packages[@]}" 2>/dev/null \
    || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages "${python_packages[@]}"
fi

if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --all-features --lib --tests --no-fail-fast
else
  cargo test --all-features --lib --tests --no-fail-fast
fi
# nextest does not run doc tests; the README's examples are among them.
cargo test --all-features --doc
