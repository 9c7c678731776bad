#!/usr/bin/env bash
# Ours and Agno 3.1.10 side by side in one run, each alone on the machine
# with the same fake OpenAI server: the seed (Agno: the seed's code,
# bench/agno/background_hooks_decorator.py; ours: the seed example with
# its defaults, durable hooks on a SQLite store), loaded by wrk with the
# seed's form. For each server and load: runs/s, p50/p99, and the
# server's CPU per run (user + system ticks of its process, from /proc).
#
# TOOLS=1: a run with one tool call instead: the seed with a tool `add`
# (Agno: bench/agno/tool_agent.py, `@tool`; ours: AGNO_TOOLS=1), the fake
# answering every run with a call to `add`, then the answer (two model
# calls per run); the script checks that both answered with its result.
#
# usage: DURATION=10 CONCURRENCIES="1 64" [TOOLS=1] bench/vs_agno.sh
# Installs Agno into target/agno-venv on first use (as agno_baseline.sh).
source "$(dirname "$0")/../scripts/lib.sh"
export BENCH_DIR="$ROOT/bench"
DURATION=${DURATION:-10}
TOOLS=${TOOLS:-0}
if [ "$TOOLS" = 1 ]; then
    export MESSAGE='sum [call add {"a": 2, "b": 3}]'
    AGNO_APP=tool_agent OURS_ENV=(AGNO_TOOLS=1)
else
    AGNO_APP=background_hooks_decorator OURS_ENV=()
fi
HZ=$(getconf CLK_TCK)

prepare_agno
WORK=$(mktemp -d)
start_fake "$WORK/fake.log"
FAKE="http://127.0.0.1:$FAKE_PORT/v1"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# load NAME PID URL: one row per concurrency.
load() {
    local name=$1 pid=$2 url=$3 c t0 t1 r
    for c in ${CONCURRENCIES:-1 64}; do
        t0=$(cpu_ticks "$pid")
        r=$(wrk_json "$c" seed_form.lua "$url")
        t1=$(cpu_ticks "$pid")
        python3 - "$name" "$c" "$HZ" "$t0" "$t1" "$r" <<'PY'
import json, sys
name, c, hz, t0, t1, r = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), json.loads(sys.argv[6])
ms = (t1 - t0) / hz * 1000 / r["requests"] if r["requests"] else 0
print(f"| {name} | {c} | {r['rps']:.1f} | {r['p50_ms']} | {r['p99_ms']} | {ms:.3f} | {r['errors']} |")
PY
    done
}

# Ours first, then Agno (each alone on the machine with the fake).
port=$(free_port)
start_seed "$port" "$WORK/ours.db" "$WORK/ours.log" "${OURS_ENV[@]}" OPENAI_API_KEY=bench OPENAI_BASE_URL="$FAKE"
echo "| server | c | runs/s | p50 ms | p99 ms | CPU ms/run | errors |"
echo "|---|---|---|---|---|---|---|"
load ours "$SEED_PID" "http://127.0.0.1:$port/agents/background-task-agent/runs"
kill -TERM "$SEED_PID"; wait "$SEED_PID" 2>/dev/null || true

start_agno "$AGNO_APP" "$WORK" "$FAKE"
load "Agno 3.1.10" "$AGNO_SERVER_PID" "http://127.0.0.1:$AGNO_PORT/agents/background-task-agent/runs"

# With TOOLS=1, both answered with the tool's result (a run that did not
# call the tool would not say it).
[ "$TOOLS" = 1 ] && python3 - "$WORK/ours.db" "$WORK/tmp/agent.db" <<'PY'
import json, sqlite3, sys
for name, path in (("ours", sys.argv[1]), ("Agno", sys.argv[2])):
    con = sqlite3.connect(path)
    rows = con.execute("SELECT run_data FROM agno_runs LIMIT 200").fetchall()
    with_tool = sum(1 for (d,) in rows if "[tool results: 5]" in (json.loads(d).get("content") or ""))
    print(f"{name}: {with_tool} of {len(rows)} sampled runs answered with the tool's result")
PY
echo "(work dir: $WORK)"
