#!/usr/bin/env bash
# The reference, measured the same way: Agno 3.1.10 serving the seed
# (bench/agno/background_hooks_decorator.py, the seed's code verbatim) with
# uvicorn, pointed at the same fake OpenAI server, loaded by wrk with the
# same multipart form at concurrency 1, 8 and 64. Prints the same table as
# bench/load.sh, so the two can be put side by side.
#
# usage: DURATION=10 bench/agno_baseline.sh
# Needs python3 (3.9+) with venv; installs Agno into target/agno-venv from
# PyPI (bench/agno/requirements.txt) on first use. Every process it starts
# is stopped by PID on exit.
source "$(dirname "$0")/../scripts/lib.sh"
export BENCH_DIR="$ROOT/bench"
DURATION=${DURATION:-10}

prepare_agno
WORK=$(mktemp -d)
start_fake "$WORK/fake.log"

start_agno background_hooks_decorator "$WORK" "http://127.0.0.1:$FAKE_PORT/v1"
SERVER_PID=$AGNO_SERVER_PID port=$AGNO_PORT
idle=$(rss_kib "$SERVER_PID")
versions=$("$VENV/bin/python" -c 'import importlib.metadata as m; print(", ".join(f"{p} {m.version(p)}" for p in ("agno", "openai", "fastapi", "uvicorn", "sqlalchemy")))' 2>/dev/null)
py=$("$VENV/bin/python" --version)

url="http://127.0.0.1:$port/agents/background-task-agent/runs"
echo "## Agno (reference): $versions; $py (idle RSS $((idle / 1024)) MiB)"
echo "| c | runs/s | p50 ms | p99 ms | errors |"
echo "|---|---|---|---|---|"
for c in ${CONCURRENCIES:-1 8 64}; do
    r=$(wrk_json "$c" seed_form.lua "$url")
    echo "| $c | $(field "$r" rps) | $(field "$r" p50_ms) | $(field "$r" p99_ms) | $(field "$r" errors) |"
done
peak=$(hwm_kib "$SERVER_PID")
stored=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from agno_runs').fetchone()[0])" "$WORK/tmp/agent.db" 2>/dev/null || echo "?")
echo "peak RSS $((peak / 1024)) MiB; stored runs: $stored"
echo "(work dir: $WORK)"
