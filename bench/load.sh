#!/usr/bin/env bash
# End-to-end load: the fake OpenAI server alone (the upper limit), then the
# seed example pointed at it, driven with the seed's multipart form by wrk.
# Reports runs/s, p50, p99, errors, server RSS (idle, peak) and the
# background hooks in flight; then the same without send_notification.
#
# usage: DURATION=10 bench/load.sh     (installs wrk with apt-get if missing)
# Every process it starts is stopped by PID on exit.
source "$(dirname "$0")/../scripts/lib.sh"
export BENCH_DIR="$ROOT/bench"
DURATION=${DURATION:-10}
FAKE_DELAY_MS=${FAKE_DELAY_MS:-0}
# The seed logs every request at info; the hooks print 7 lines per run.
# Both go to a file here, as they would in production.
export RUST_LOG=${RUST_LOG:-info}

prepare_bench
WORK=$(mktemp -d)
start_fake "$WORK/fake.log" "$FAKE_DELAY_MS"

# sample_in_flight PORT: max background hooks in flight, until killed.
sample_in_flight() {
    local max=0 n
    while true; do
        n=$(curl -s --max-time 1 "http://127.0.0.1:$1/hooks" | python3 -c 'import json,sys; print(json.load(sys.stdin)["stats"]["in_flight"])' 2>/dev/null || echo 0)
        [ "$n" -gt "$max" ] && max=$n && echo "$max" >"$WORK/in_flight.max"
        sleep 0.5
    done
}

echo "## Fake OpenAI server alone (POST /v1/responses)"
echo "| c | req/s | p50 ms | p99 ms | errors |"
echo "|---|---|---|---|---|"
declare -A FAKE_RPS
for c in 1 8 64; do
    r=$(wrk_json "$c" fake_responses.lua "http://127.0.0.1:$FAKE_PORT/v1/responses")
    FAKE_RPS[$c]=$(field "$r" rps)
    echo "| $c | $(field "$r" rps) | $(field "$r" p50_ms) | $(field "$r" p99_ms) | $(field "$r" errors) |"
done

# run_seed LABEL [VAR=value ...]: the seed example under load.
run_seed() {
    local label=$1
    shift
    local port
    port=$(free_port)
    start_seed "$port" "$WORK/$label.db" "$WORK/$label.log" \
        OPENAI_API_KEY=bench OPENAI_BASE_URL="http://127.0.0.1:$FAKE_PORT/v1" "$@"
    local idle
    idle=$(rss_kib "$SEED_PID")
    local url="http://127.0.0.1:$port/agents/background-task-agent/runs"
    echo
    echo "## Seed example, $label (idle RSS $((idle / 1024)) MiB)"
    echo "| c | runs/s | p50 ms | p99 ms | errors | vs fake | max background hooks in flight |"
    echo "|---|---|---|---|---|---|---|"
    for c in ${CONCURRENCIES:-1 8 64}; do
        echo 0 >"$WORK/in_flight.max"
        sample_in_flight "$port" &
        local sampler=$!
        r=$(wrk_json "$c" seed_form.lua "$url")
        kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true
        local ratio
        ratio=$(python3 -c "print(f'{$(field "$r" rps) / ${FAKE_RPS[$c]}:.2f}')")
        echo "| $c | $(field "$r" rps) | $(field "$r" p50_ms) | $(field "$r" p99_ms) | $(field "$r" errors) | $ratio | $(cat "$WORK/in_flight.max") |"
        echo "$label c=$c $r" >>"$WORK/results.txt"
    done
    if [ -z "${NO_STREAM:-}" ]; then
        r=$(STREAM=true wrk_json 8 seed_form.lua "$url")
        echo "| 8 (stream) | $(field "$r" rps) | $(field "$r" p50_ms) | $(field "$r" p99_ms) | $(field "$r" errors) | | |"
    fi
    echo
    echo "peak RSS $(( $(hwm_kib "$SEED_PID") / 1024 )) MiB; stored runs: $(python3 -c "import sqlite3; print(sqlite3.connect('$WORK/$label.db').execute('select count(*) from agno_runs').fetchone()[0])")"
    kill -TERM "$SEED_PID"
    for _ in $(seq 1 600); do kill -0 "$SEED_PID" 2>/dev/null || break; sleep 0.1; done
}

run_seed "with send_notification (3 s, background)"
NO_STREAM=1 CONCURRENCIES="1 64" run_seed "without send_notification" SEED_SKIP_NOTIFICATION=1
echo
echo "(work dir: $WORK)"
