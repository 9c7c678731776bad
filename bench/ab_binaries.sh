#!/usr/bin/env bash
# A/B of two builds of the seed example: alternating fresh servers of
# binary A and binary B, ROUNDS times at each concurrency, against the
# fake OpenAI server; prints every round and each side's medians. For a
# change's cost on the HTTP path: build the commit before it into another
# target dir (git worktree add /tmp/old REV; cd /tmp/old;
# CARGO_TARGET_DIR=$PWD/../main/target/old cargo build --release -p examples
# --example bench_server) and compare.
#
# usage: A=path/to/old/seed B=path/to/new/seed ROUNDS=3 DURATION=10 CONCURRENCIES="1 64" bench/ab_binaries.sh
source "$(dirname "$0")/../scripts/lib.sh"
export BENCH_DIR="$ROOT/bench"
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
CONCURRENCIES=${CONCURRENCIES:-1 64}
export RUST_LOG=${RUST_LOG:-info}
: "${A:?A=path of the first seed binary}" "${B:?B=path of the second seed binary}"

prepare_bench
WORK=$(mktemp -d)
start_fake "$WORK/fake.log"

one_round() {
    local side=$1 c=$2 port
    port=$(free_port)
    rm -f "$WORK/ab.db"*
    SEED=${!side} start_seed "$port" "$WORK/ab.db" "$WORK/$side.log" \
        OPENAI_API_KEY=bench OPENAI_BASE_URL="http://127.0.0.1:$FAKE_PORT/v1"
    local r t0 t1
    t0=$(awk '{print $14 + $15}' "/proc/$SEED_PID/stat")
    r=$(wrk_json "$c" seed_form.lua "http://127.0.0.1:$port/agents/background-task-agent/runs")
    t1=$(awk '{print $14 + $15}' "/proc/$SEED_PID/stat")
    kill -9 "$SEED_PID" 2>/dev/null; wait "$SEED_PID" 2>/dev/null || true
    # The server's CPU (user + system) per run answered during the load.
    python3 -c "import json,sys; r=json.loads(sys.argv[1]); ms=(int(sys.argv[5])-int(sys.argv[4]))/int(sys.argv[6])*1000/max(r['requests'],1); print(sys.argv[2], sys.argv[3], r['rps'], r['p50_ms'], r['p99_ms'], r['errors'], f'{ms:.4f}')" \
        "$r" "$side" "$c" "$t0" "$t1" "$(getconf CLK_TCK)" | tee -a "$WORK/results.txt"
}

for c in $CONCURRENCIES; do
    for round in $(seq 1 "$ROUNDS"); do
        if (( round % 2 )); then one_round A "$c"; one_round B "$c"
        else one_round B "$c"; one_round A "$c"; fi
    done
done

echo
echo "| c | side | runs/s (median) | p50 ms (median) | p99 ms (median) | CPU ms/run (median) | errors |"
echo "|---|---|---|---|---|---|---|"
python3 - "$WORK/results.txt" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
for c in sorted({int(r[1]) for r in rows}):
    med = {}
    for side in ("A", "B"):
        sel = [r for r in rows if r[0] == side and int(r[1]) == c]
        med[side] = [statistics.median(float(r[i]) for r in sel) for i in (2, 3, 4, 6)]
        print(f"| {c} | {side} | {med[side][0]:.0f} | {med[side][1]:.3f} | {med[side][2]:.2f} | {med[side][3]:.3f} | {sum(int(r[5]) for r in sel)} |")
    a, b = med["A"], med["B"]
    print(f"| {c} | B vs A | {100 * (b[0] / a[0] - 1):+.1f} % | {100 * (b[1] / a[1] - 1):+.1f} % | {100 * (b[2] / a[2] - 1):+.1f} % | {100 * (b[3] / a[3] - 1):+.1f} % | |")
PY
