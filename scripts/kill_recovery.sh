#!/usr/bin/env bash
# Acknowledged runs are never lost: drive runs at the seed example, SIGKILL
# it mid-load, restart it on the same SQLite file, and check that every run
# the client got a 200 for is stored, intact, and that the file passes
# PRAGMA integrity_check.
#
# usage: scripts/kill_recovery.sh [ROUNDS] (default 3); CONCURRENCY (16),
# KILL_AFTER seconds (3).
source "$(dirname "$0")/lib.sh"
ROUNDS=${1:-3}
CONCURRENCY=${CONCURRENCY:-16}
KILL_AFTER=${KILL_AFTER:-3}

build_seed
WORK=$(mktemp -d)
DB="$WORK/agent.db"
LOG="$WORK/server.log"
: >"$WORK/acked.tsv"
total_tried=0
for round in $(seq 1 "$ROUNDS"); do
    PORT=$(free_port)
    start_seed "$PORT" "$DB" "$LOG"
    python3 "$ROOT/scripts/drive.py" --url "http://127.0.0.1:$PORT" \
        --concurrency "$CONCURRENCY" --duration $((KILL_AFTER + 2)) \
        --out "$WORK/acked-$round.tsv" >"$WORK/drive-$round.json" &
    DRIVER=$!
    STARTED_PIDS+=("$DRIVER")
    sleep "$KILL_AFTER"
    kill -9 "$SEED_PID"
    wait "$SEED_PID" 2>/dev/null || true
    wait "$DRIVER"
    cat "$WORK/acked-$round.tsv" >>"$WORK/acked.tsv"
    echo "round $round: $(cat "$WORK/drive-$round.json") (SIGKILL after ${KILL_AFTER}s)"
    total_tried=$((total_tried + $(python3 -c "import json;print(json.load(open('$WORK/drive-$round.json'))['tried'])")))
done

# Restart on the same file (migrations and recovery run), then check.
PORT=$(free_port)
start_seed "$PORT" "$DB" "$LOG"
python3 - "$DB" "$WORK/acked.tsv" "$PORT" "$total_tried" <<'PY'
import json, sqlite3, sys, urllib.request
db, acked_file, port, tried = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
acked = [line.split("\t") for line in open(acked_file).read().splitlines()]
con = sqlite3.connect(db)
integrity = con.execute("PRAGMA integrity_check").fetchone()[0]
rows = dict(con.execute("SELECT run_id, run_data FROM agno_runs").fetchall())
missing, broken = [], []
for run_id, session_id, status in acked:
    data = rows.get(run_id)
    if data is None:
        missing.append(run_id)
        continue
    run = json.loads(data)
    if run.get("run_id") != run_id or run.get("session_id") != session_id or run.get("status") != status \
            or not run.get("content", "").startswith("Echo: Hello, how are you?"):
        broken.append(run_id)
# And through the HTTP API of the restarted server, for a sample.
for run_id, session_id, _ in acked[:: max(1, len(acked) // 50)]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/sessions/{session_id}/runs/{run_id}") as r:
        assert json.load(r)["run_id"] == run_id
print(json.dumps({
    "requests_tried": tried,
    "runs_acknowledged": len(acked),
    "runs_stored": len(rows),
    "acknowledged_missing": len(missing),
    "acknowledged_corrupt": len(broken),
    "integrity_check": integrity,
}))
sys.exit(1 if missing or broken or integrity != "ok" else 0)
PY
echo "kill_recovery: OK (work dir $WORK)"
