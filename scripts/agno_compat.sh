#!/usr/bin/env bash
# Agno's own code (agno==3.1.10) against ours, both ways: its AgentOSClient
# drives the seed example, its SqliteDb reads the file our server wrote, and
# our server continues a file its own Agent wrote. See
# scripts/agno_compat/compat.py for the checks. CI runs it after
# `cargo test --workspace` (which builds the binaries it uses).
#
# usage: scripts/agno_compat.sh
#   AGNO_COMPAT_PROFILE=release  use release binaries (default: debug)
#   AGNO_COMPAT_VENV=DIR         where the venv lives (default: target/agno-compat-venv)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
PROFILE="${AGNO_COMPAT_PROFILE:-debug}"
VENV="${AGNO_COMPAT_VENV:-$TARGET/agno-compat-venv}"
REQS="$ROOT/scripts/agno_compat/requirements.txt"

release=()
[ "$PROFILE" = release ] && release=(--release)
(cd "$ROOT" && cargo build --locked "${release[@]}" -p examples --example bench_server \
    -p agno-server --features agno-server/fake-openai --bin fake-openai >&2)

# The venv is made once and reused while the pinned requirements are the same.
if ! cmp -s "$REQS" "$VENV/.requirements" 2>/dev/null; then
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check -r "$REQS" >&2
    cp "$REQS" "$VENV/.requirements"
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
"$VENV/bin/python" "$ROOT/scripts/agno_compat/compat.py" \
    "$TARGET/$PROFILE/examples/bench_server" "$TARGET/$PROFILE/fake-openai" "$WORK" || {
    echo "== logs in $WORK:" >&2
    tail -n 30 "$WORK"/*.log >&2 || true
    exit 1
}
