#!/usr/bin/env bash
# The Prometheus side of operations, checked offline: the alert rules by
# promtool (syntax and unit tests), then a real Prometheus (Debian's
# `prometheus`, 2.42) scraping the seed's server under a short load, its
# HTTP API asked for runs, hooks by name and a failing hook's counter, and
# every query of the Grafana dashboard evaluated there.
# See scripts/prometheus_check.py. CI runs it after `cargo test --workspace`.
#
# usage: scripts/prometheus_check.sh
#   PROMETHEUS_CHECK_PROFILE=release  use the release binary (default: debug)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
PROFILE="${PROMETHEUS_CHECK_PROFILE:-debug}"

if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then
    echo "== installing Debian's prometheus (promtool with it)" >&2
    export DEBIAN_FRONTEND=noninteractive
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq >&2
    $SUDO apt-get install -y -qq --no-install-recommends prometheus >&2
fi

echo "== promtool: the alert rules"
(cd "$ROOT/ops/prometheus" && promtool check rules alerts.yml && promtool test rules alerts_test.yml)

release=()
[ "$PROFILE" = release ] && release=(--release)
(cd "$ROOT" && cargo build --locked "${release[@]}" -p examples --example bench_server >&2)

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
python3 "$ROOT/scripts/prometheus_check.py" "$TARGET/$PROFILE/examples/bench_server" "$WORK" || {
    echo "== logs in $WORK:" >&2
    tail -n 30 "$WORK"/*.log >&2 || true
    exit 1
}
