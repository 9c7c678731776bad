#!/usr/bin/env bash
# A/B: does the seed's 3 s background `send_notification` cost the response
# anything? Alternates fresh seed servers with and without it
# (SEED_SKIP_NOTIFICATION=1), ROUNDS times, at each concurrency in
# CONCURRENCIES, against the fake OpenAI server, and prints every round and
# the median of each side. Alternating fresh servers spreads the machine's
# drift over both sides instead of charging it to one.
#
# AB=durable compares instead the seed with its background hooks as durable
# jobs ("with", the default with a store) and in memory only ("without",
# AGNO_DURABLE_HOOKS=0). Both sides get the same number of places for
# hooks running at once (JOBS_MAX_CONCURRENT, default 65 536: the in-memory
# dispatcher's default), so both run every hook during the load rather than
# the durable side leaving a backlog in the store; the last column says how
# many durable jobs were still queued when the load ended (0: it kept up).
#
# AB=metrics compares the seed keeping its Prometheus series ("with", the
# default) and keeping none ("without", AGNO_METRICS=0).
#
# AB=tracing compares the seed storing every run's trace ("with",
# AGNO_TRACING=1) and storing none ("without", the default); the last
# column is then how many traces the writer dropped (0: it kept up).
#
# usage: ROUNDS=5 DURATION=5 CONCURRENCIES="1 64" [AB=durable|metrics|tracing] bench/ab_background.sh
# Every process it starts is stopped by PID on exit.
source "$(dirname "$0")/../scripts/lib.sh"
export BENCH_DIR="$ROOT/bench"
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-5}
CONCURRENCIES=${CONCURRENCIES:-1 64}
export RUST_LOG=${RUST_LOG:-info}

prepare_bench
WORK=$(mktemp -d)
start_fake "$WORK/fake.log"

# one_round SIDE C: a fresh seed server, one wrk run at concurrency C; one
# line "SIDE C rps p50 p99" into results.
one_round() {
    local side=$1 c=$2 port extra=()
    if [ "$side" = without ]; then
        case "${AB:-notification}" in
            durable) extra=(AGNO_DURABLE_HOOKS=0) ;;
            metrics) extra=(AGNO_METRICS=0) ;;
            tracing) extra=() ;;
            *) extra=(SEED_SKIP_NOTIFICATION=1) ;;
        esac
    elif [ "${AB:-notification}" = durable ]; then
        extra=(AGNO_JOBS_MAX_CONCURRENT="${JOBS_MAX_CONCURRENT:-65536}")
    elif [ "${AB:-notification}" = tracing ]; then
        extra=(AGNO_TRACING=1)
    fi
    port=$(free_port)
    rm -f "$WORK/ab.db"*
    start_seed "$port" "$WORK/ab.db" "$WORK/$side.log" \
        OPENAI_API_KEY=bench OPENAI_BASE_URL="http://127.0.0.1:$FAKE_PORT/v1" "${extra[@]}"
    local r
    r=$(wrk_json "$c" seed_form.lua "http://127.0.0.1:$port/agents/background-task-agent/runs")
    local queued
    queued=$(curl -s "http://127.0.0.1:$port/queue/stats" | python3 -c "import json,sys; print(json.load(sys.stdin)['counts']['queued'])" 2>/dev/null || echo -)
    kill -9 "$SEED_PID" 2>/dev/null; wait "$SEED_PID" 2>/dev/null || true
    if [ "${AB:-notification}" = tracing ]; then
        # The writer warns with the running count at each power of two.
        queued=$(grep -o 'dropped=[0-9]*' "$WORK/$side.log" | tail -1 | cut -d= -f2 || true)
        queued=${queued:-0}
    fi
    python3 -c "import json,sys; r=json.loads(sys.argv[1]); print(sys.argv[2], sys.argv[3], r['rps'], r['p50_ms'], r['p99_ms'], r['errors'], sys.argv[4])" \
        "$r" "$side" "$c" "$queued" | tee -a "$WORK/results.txt"
}

for c in $CONCURRENCIES; do
    for round in $(seq 1 "$ROUNDS"); do
        # Alternate which side goes first, so neither always follows the other.
        if (( round % 2 )); then one_round with "$c"; one_round without "$c"
        else one_round without "$c"; one_round with "$c"; fi
    done
done

echo
echo "| c | side | runs/s (median) | p50 ms (median) | p99 ms (median) | errors | jobs queued at the end (max) |"
echo "|---|---|---|---|---|---|---|"
python3 - "$WORK/results.txt" "${AB:-notification}" <<'EOF'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
for c in sorted({int(r[1]) for r in rows}):
    med = {}
    for side in ("with", "without"):
        sel = [r for r in rows if r[0] == side and int(r[1]) == c]
        med[side] = [statistics.median(float(r[i]) for r in sel) for i in (2, 3, 4)]
        errors = sum(int(r[5]) for r in sel)
        queued = [int(r[6]) for r in sel if len(r) > 6 and r[6].isdigit()]
        backlog = max(queued) if queued else "-"
        labels = {
            "durable": {"with": "durable", "without": "in memory"},
            "metrics": {"with": "metrics on", "without": "metrics off"},
            "tracing": {"with": "traces stored", "without": "no traces"},
        }
        label = labels[sys.argv[2]][side] if sys.argv[2] in labels else f"{side} send_notification"
        print(f"| {c} | {label} | {med[side][0]:.0f} | {med[side][1]:.3f} | {med[side][2]:.2f} | {errors} | {backlog} |")
    w, wo = med["with"], med["without"]
    print(f"| {c} | with vs without | {100 * (w[0] / wo[0] - 1):+.1f} % | {100 * (w[1] / wo[1] - 1):+.1f} % | {100 * (w[2] / wo[2] - 1):+.1f} % | | |")
EOF
echo
echo "(work dir: $WORK)"
