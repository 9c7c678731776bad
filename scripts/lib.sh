# Shared by the scripts in this folder: build, free ports, start and stop
# the seed example, wait for health. Source it; it sets a trap that kills
# every PID it started.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
SEED="$CARGO_TARGET_DIR/release/examples/bench_server"
STARTED_PIDS=()

cleanup() {
    for pid in "${STARTED_PIDS[@]:-}"; do
        [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT

build_seed() {
    (cd "$ROOT" && cargo build --release --locked -p examples --example bench_server >&2)
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# start_seed PORT DB LOG [VAR=value ...]: starts the seed example (offline
# Echo model) in the background; sets SEED_PID.
start_seed() {
    local port=$1 db=$2 log=$3
    shift 3
    env -u OPENAI_API_KEY PORT="$port" AGNO_DB="$db" RUST_LOG="${RUST_LOG:-info}" "$@" \
        "$SEED" >>"$log" 2>&1 &
    SEED_PID=$!
    STARTED_PIDS+=("$SEED_PID")
    wait_health "$port"
}

wait_health() {
    local port=$1
    for _ in $(seq 1 200); do
        if curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.05
    done
    echo "server on port $port did not become healthy" >&2
    return 1
}

# wait_queue_drained PORT [SECONDS]: waits (default 300 s) until the
# server's GET /queue/stats shows nothing queued or running; fails past it.
wait_queue_drained() {
    python3 - "$1" "${2:-300}" <<'PY'
import json, sys, time, urllib.request
port, limit = sys.argv[1], float(sys.argv[2])
deadline = time.monotonic() + limit
while True:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/queue/stats") as r:
        counts = json.load(r)["counts"]
    if counts["queued"] == 0 and counts["running"] == 0:
        break
    if time.monotonic() > deadline:
        sys.exit(f"the queue did not drain: {counts}")
    time.sleep(0.05)
PY
}

rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
hwm_kib() { awk '/VmHWM/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# The load benchmarks' setup (bench/*.sh): wrk installed, the release fake
# OpenAI server and seed example built.
prepare_bench() {
    if ! command -v wrk >/dev/null; then
        (apt-get install -y wrk || (apt-get update && apt-get install -y wrk)) >&2
    fi
    (cd "$ROOT" && cargo build --release --locked -p agno-server --features agno-server/fake-openai --bin fake-openai \
        -p examples --example bench_server >&2)
}

# start_fake LOG [DELAY_MS]: starts the fake OpenAI server on a free port
# and waits until it answers; sets FAKE_PORT and FAKE_PID.
start_fake() {
    local log=$1 delay=${2:-0}
    FAKE_PORT=$(free_port)
    "$CARGO_TARGET_DIR/release/fake-openai" --port "$FAKE_PORT" --delay-ms "$delay" >"$log" 2>&1 &
    FAKE_PID=$!
    STARTED_PIDS+=("$FAKE_PID")
    for _ in $(seq 1 200); do
        curl -s -o /dev/null -X POST "http://127.0.0.1:$FAKE_PORT/v1/responses" \
            -H 'content-type: application/json' -d '{"model":"m","input":"hi"}' && return 0
        sleep 0.05
    done
    echo "the fake OpenAI server on port $FAKE_PORT did not answer" >&2
    return 1
}

# prepare_agno: the load benchmarks' setup plus Agno 3.1.10 in a venv
# (VENV, default target/agno-venv; bench/agno/requirements.txt from PyPI),
# made on first use.
prepare_agno() {
    prepare_bench
    VENV=${AGNO_VENV:-$CARGO_TARGET_DIR/agno-venv}
    if [ ! -x "$VENV/bin/uvicorn" ]; then
        python3 -m venv "$VENV" >&2
        "$VENV/bin/pip" install -q -r "$ROOT/bench/agno/requirements.txt" >&2
    fi
}

# start_agno APP WORK FAKE_URL: Agno's AgentOS serving bench/agno/APP.py
# with uvicorn from WORK (the seed writes tmp/agent.db there), its model
# pointed at FAKE_URL, as the seed's `agent_os.serve(...)` runs it (one
# process, uvicorn's info log to WORK/agno.log) without `reload=True`;
# waits for /health. Needs prepare_agno and BENCH_DIR; sets AGNO_PORT and
# AGNO_SERVER_PID (the uvicorn process itself).
start_agno() {
    local app=$1 work=$2 fake=$3 pid
    cp "$BENCH_DIR/agno/$app.py" "$work/"
    mkdir -p "$work/tmp"
    AGNO_PORT=$(free_port)
    (cd "$work" && env OPENAI_API_KEY=bench OPENAI_BASE_URL="$fake" \
        "$VENV/bin/uvicorn" "$app:app" --host 127.0.0.1 --port "$AGNO_PORT" >"$work/agno.log" 2>&1) &
    pid=$!
    STARTED_PIDS+=("$pid")
    for _ in $(seq 1 600); do
        curl -sf -o /dev/null "http://127.0.0.1:$AGNO_PORT/health" && break
        sleep 0.1
    done
    AGNO_SERVER_PID=$(pgrep -P "$pid" -f uvicorn || echo "$pid")
    STARTED_PIDS+=("$AGNO_SERVER_PID")
}

# field JSON KEY: one value of a JSON object (wrk_json's line).
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }

# wrk_json C SCRIPT URL: wrk at concurrency C for DURATION seconds with the
# Lua SCRIPT of bench/ (BENCH_DIR); one JSON line of figures.
wrk_json() {
    local c=$1 script=$2 url=$3 threads=$(( $1 < 2 ? $1 : 2 ))
    wrk -t"$threads" -c"$c" -d"${DURATION}s" --latency -s "$BENCH_DIR/$script" "$url" | tail -1
}
