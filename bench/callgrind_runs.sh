#!/usr/bin/env bash
# Where a run's instructions go: the seed example (durable hooks on a
# SQLite store, the notification hook at NOTIFY_MS=0 so its job is done
# within the count) under valgrind's callgrind, pointed at the fake
# OpenAI server. Instrumentation is off during start-up and 100 warm-up
# runs, then on for N runs (8 client threads, each on its own kept-alive
# connection, the seed's form) and the jobs they leave; prints the instructions per run by part
# (bench/callgrind_breakdown.py). Repeatable on a noisy machine: counts,
# not time.
#
# usage: N=2000 bench/callgrind_runs.sh [SEED_BINARY]
#   (default: the release seed example, built here); EXTRA_ENV="A=1 B=2"
#   passes settings to the server.
source "$(dirname "$0")/../scripts/lib.sh"
N=${N:-2000}
if [ $# -ge 1 ]; then SEED=$1; fi
command -v valgrind >/dev/null || (apt-get install -y valgrind || (apt-get update && apt-get install -y valgrind)) >&2
prepare_bench
WORK=$(mktemp -d)
start_fake "$WORK/fake.log"
PORT=$(free_port)
# shellcheck disable=SC2086
env -u OPENAI_API_KEY PORT="$PORT" AGNO_DB="$WORK/agent.db" RUST_LOG=info NOTIFY_MS=0 \
    OPENAI_API_KEY=bench OPENAI_BASE_URL="http://127.0.0.1:$FAKE_PORT/v1" ${EXTRA_ENV:-} \
    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$WORK/cg.out" \
    "$SEED" >"$WORK/server.log" 2>&1 &
VG=$!
STARTED_PIDS+=("$VG")
for _ in $(seq 1 600); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/health" && break; sleep 0.2; done
drive() {
    # Each client thread keeps its connection (as wrk does).
    python3 - "$PORT" "$1" "$2" <<'PY'
import http.client, sys, threading
port, n, threads = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
ok = [0] * threads
def worker(t):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for i in range(t, n, threads):
        conn.request("POST", "/agents/background-task-agent/runs",
                     f"message=Hello%2C+how+are+you%3F+{i}&stream=false",
                     {"content-type": "application/x-www-form-urlencoded"})
        r = conn.getresponse(); r.read()
        ok[t] += r.status == 200
ts = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
[t.start() for t in ts]; [t.join() for t in ts]
assert sum(ok) == n, (sum(ok), n)
PY
}
drive 100 1
sleep 1
callgrind_control -i on "$VG" >/dev/null
drive "$N" 8
sleep 2   # the runs' durable jobs settle
callgrind_control -i off "$VG" >/dev/null
callgrind_control -d "$VG" >/dev/null
sleep 1
kill -TERM "$VG"; wait "$VG" || true
OUT=$(ls -S "$WORK"/cg.out* | head -1)
python3 "$ROOT/bench/callgrind_breakdown.py" "$OUT" "$N"
echo "(profile: $OUT; callgrind_annotate --inclusive=yes $OUT for the call tree)"
