#!/usr/bin/env bash
# Graceful shutdown loses no background hook: drive runs at the seed example
# (each starts log_request and the 3 s send_notification in the background),
# send SIGTERM while thousands of hooks are in flight, check that new
# requests are refused cleanly, and that every send_notification started
# also finished (or is reported as cut by name and run id).
#
# usage: scripts/shutdown_drain.sh; CONCURRENCY (32), LOAD_SECONDS (2).
source "$(dirname "$0")/lib.sh"
CONCURRENCY=${CONCURRENCY:-32}
LOAD_SECONDS=${LOAD_SECONDS:-2}

build_seed
WORK=$(mktemp -d)
LOG="$WORK/server.log"
PORT=$(free_port)
start_seed "$PORT" "$WORK/agent.db" "$LOG"
python3 "$ROOT/scripts/drive.py" --url "http://127.0.0.1:$PORT" \
    --concurrency "$CONCURRENCY" --duration "$LOAD_SECONDS" --out "$WORK/acked.tsv" >"$WORK/drive.json"
in_flight=$(curl -s "http://127.0.0.1:$PORT/hooks" | python3 -c 'import json,sys; print(json.load(sys.stdin)["stats"]["in_flight"])')
kill -TERM "$SEED_PID"
# New requests during the drain: refused (connection refused) or 503, never a hang.
refused=0; answered=0
for _ in $(seq 1 20); do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -X POST \
        "http://127.0.0.1:$PORT/agents/background-task-agent/runs" -F message=late -F stream=false || true)
    case "$code" in 000|503) refused=$((refused + 1)) ;; *) answered=$((answered + 1)) ;; esac
    sleep 0.05
done
for _ in $(seq 1 600); do kill -0 "$SEED_PID" 2>/dev/null || break; sleep 0.1; done
wait "$SEED_PID" 2>/dev/null || true
started=$(grep -c 'Sending notification' "$LOG" || true)
finished=$(grep -c 'Notification sent!' "$LOG" || true)
summary=$(grep 'shutdown complete' "$LOG" | tail -1 | sed 's/\x1b\[[0-9;]*m//g')
python3 - "$WORK/drive.json" "$in_flight" "$started" "$finished" "$refused" "$answered" "$summary" <<'PY'
import json, re, sys
drive = json.load(open(sys.argv[1]))
in_flight, started, finished, refused, answered = map(int, sys.argv[2:7])
summary = dict(re.findall(r"(\w+)=(\d+)", sys.argv[7]))
result = {
    "runs_acknowledged": drive["acked"],
    "background_in_flight_at_sigterm": in_flight,
    "send_notification_started": started,
    "send_notification_finished": finished,
    "drain_waited_for": int(summary.get("waited_for", -1)),
    "drain_finished": int(summary.get("finished", -1)),
    "drain_cut": int(summary.get("cut", -1)),
    "late_requests_refused": refused,
    "late_requests_answered_200": answered,
}
print(json.dumps(result))
ok = started == finished and result["drain_cut"] == 0 and started > 0
sys.exit(0 if ok else 1)
PY
echo "shutdown_drain: OK (log $LOG)"
