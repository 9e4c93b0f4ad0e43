#!/usr/bin/env bash
# The loom models of the crate's lock-free structures (`mod loom_tests` next to each one; see
# docs/development.md): the real code, built against loom's primitives (src/sync.rs), under
# every interleaving loom explores with at most LOOM_MAX_PREEMPTIONS (default 2) preemptions.
#
# `--cfg loom` must reach this crate only: tokio leaves `tokio::net` out under that cfg, and the
# dev-dependencies (hyper-util, axum's server, the demo app) need it. Cargo still sees the cfg
# (so the `cfg(loom)` dependency is built), and this script, as cargo's rustc wrapper, takes it
# off every other crate's command line.
set -euo pipefail

if [ "${ROUTEMETER_LOOM_WRAPPER:-}" = 1 ] && [ $# -gt 0 ] && [ "${1##*/}" != loom.sh ]; then
  rustc=$1
  shift
  case " $* " in
    *" --crate-name routemeter "* | *" --crate-name ___ "*) exec "$rustc" "$@" ;;
  esac
  args=()
  while [ $# -gt 0 ]; do
    if [ "$1" = --cfg ] && [ "${2:-}" = loom ]; then
      shift 2
      continue
    fi
    args+=("$1")
    shift
  done
  exec "$rustc" "${args[@]}"
fi

cd "$(dirname "$0")/.."
export ROUTEMETER_LOOM_WRAPPER=1
export RUSTC_WRAPPER="$PWD/scripts/loom.sh"
export RUSTFLAGS="--cfg loom"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}/loom"
export LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-2}"
start=$(date +%s)
cargo test --release --lib -- loom "$@"
echo "loom models passed in $(($(date +%s) - start)) s"
