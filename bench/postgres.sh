#!/usr/bin/env bash
# The store's cost, in one run, at concurrency C (default 64): the seed
# example (the fake OpenAI server as its model, its background hooks
# durable) driven by wrk with the seed's form, on
#   1. one instance on SQLite,
#   2. one instance on Postgres,
#   3. two instances on one Postgres database (C/2 connections each, at
#      the same time).
# For each: runs/s, p99, and CPU per run (ms of CPU time per answered run)
# of the server processes and of the Postgres server processes, read from
# /proc before and after. On a 2-core machine two instances share the same
# two cores with Postgres and wrk: they show the overhead of sharing, not
# scale; CPU per run is what predicts scale on more cores.
#
# usage: DURATION=10 C=64 bench/postgres.sh
#        SEED_ENV="AGNO_DURABLE_HOOKS=0" bench/postgres.sh   (hooks in memory only)
source "$(dirname "$0")/../scripts/lib.sh"
export BENCH_DIR="$ROOT/bench"
DURATION=${DURATION:-10}
C=${C:-64}
export RUST_LOG=${RUST_LOG:-info}
SERVER_URL="${AGNO_TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/postgres}"
DBNAME="agno_bench_$$"
DATABASE_URL="${SERVER_URL%/*}/$DBNAME"
bash "$ROOT/scripts/postgres_ready.sh" >&2
prepare_bench
WORK=$(mktemp -d)
start_fake "$WORK/fake.log"
drop_db() { psql "$SERVER_URL" -qc "DROP DATABASE IF EXISTS $DBNAME WITH (FORCE)" >&2 || true; }
trap 'cleanup; drop_db' EXIT

# cpu_ticks PID...: user+system clock ticks of these processes.
cpu_ticks() {
    local total=0 pid
    for pid in "$@"; do
        [ -r "/proc/$pid/stat" ] || continue
        total=$(( total + $(awk '{print $14 + $15}' "/proc/$pid/stat") ))
    done
    echo "$total"
}
# The server's processes by name (-x: not the scripts or compilers whose command line says postgres)
pg_pids() { pgrep -x postgres | tr '\n' ' '; }
# Ticks of every postgres process, including backends that come and go.
pg_ticks() { cpu_ticks $(pg_pids); }
HZ=$(getconf CLK_TCK)

# measure NAME PORTS...: wrk on each port at C/len(ports), together; prints a row.
measure() {
    local name=$1; shift
    local ports=("$@") n=$# per=$(( C / $# )) i pids=() s0 p0 s1 p1 rps=0 p99=0
    s0=$(cpu_ticks "${SERVER_PIDS[@]}"); p0=$(pg_ticks)
    for i in "${!ports[@]}"; do
        wrk_json "$per" seed_form.lua "http://127.0.0.1:${ports[$i]}/agents/background-task-agent/runs" >"$WORK/wrk-$name-$i.json" &
        pids+=($!)
    done
    wait "${pids[@]}"
    s1=$(cpu_ticks "${SERVER_PIDS[@]}"); p1=$(pg_ticks)
    python3 - "$name" "$HZ" "$s0" "$s1" "$p0" "$p1" "$WORK"/wrk-"$name"-*.json <<'PY'
import json, sys
name, hz, s0, s1, p0, p1 = sys.argv[1], *map(int, sys.argv[2:7])
runs = [json.loads(open(f).read().strip().splitlines()[-1]) for f in sys.argv[7:]]
rps = sum(r["rps"] for r in runs)
p99 = max(r["p99_ms"] for r in runs)
errors = sum(r["errors"] for r in runs)
total = sum(r["requests"] for r in runs)
server_ms = (s1 - s0) / hz * 1000 / total if total else 0
db_ms = (p1 - p0) / hz * 1000 / total if total else 0
print(f"| {name} | {rps:.0f} | {p99:.1f} | {server_ms:.3f} | {db_ms:.3f} | {errors} |")
PY
}

echo "| setup (c=$C, ${DURATION}s) | runs/s | p99 ms | server CPU ms/run | Postgres CPU ms/run | errors |"
echo "|---|---|---|---|---|---|"
ENVS=(OPENAI_API_KEY=bench OPENAI_BASE_URL="http://127.0.0.1:$FAKE_PORT/v1" ${SEED_ENV:-})

port=$(free_port)
start_seed "$port" "$WORK/bench.db" "$WORK/sqlite.log" "${ENVS[@]}"
SERVER_PIDS=("$SEED_PID")
measure "1 instance, SQLite" "$port"
kill -TERM "$SEED_PID"; wait "$SEED_PID" 2>/dev/null || true

psql "$SERVER_URL" -qc "DROP DATABASE IF EXISTS $DBNAME" -c "CREATE DATABASE $DBNAME" >&2
port=$(free_port)
start_seed "$port" unused.db "$WORK/pg1.log" "${ENVS[@]}" DATABASE_URL="$DATABASE_URL"
SERVER_PIDS=("$SEED_PID")
measure "1 instance, Postgres" "$port"
kill -TERM "$SEED_PID"; wait "$SEED_PID" 2>/dev/null || true

port_a=$(free_port)
start_seed "$port_a" unused.db "$WORK/pg2a.log" "${ENVS[@]}" DATABASE_URL="$DATABASE_URL"
pid_a=$SEED_PID
port_b=$(free_port)
start_seed "$port_b" unused.db "$WORK/pg2b.log" "${ENVS[@]}" DATABASE_URL="$DATABASE_URL"
SERVER_PIDS=("$pid_a" "$SEED_PID")
measure "2 instances, one Postgres" "$port_a" "$port_b"
kill -TERM "$pid_a" "$SEED_PID"; wait "$pid_a" "$SEED_PID" 2>/dev/null || true
