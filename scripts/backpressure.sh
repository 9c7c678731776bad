#!/usr/bin/env bash
# Backpressure instead of unbounded memory: the seed example's 3 s
# send_notification is spawned far faster than it finishes. With small
# bounds (AGNO_MAX_CONCURRENT, AGNO_MAX_PENDING) the queue fills, further
# hooks are refused loudly (logged with hook name and run id, counted as
# `rejected`), memory stays flat and the server keeps answering. With
# WHEN_FULL=wait the runs wait for room instead (counted as `waited`): no
# hook is refused and the server slows to the pace the hooks finish at.
# Samples RSS and the /hooks counters every 0.5 s.
#
# usage: scripts/backpressure.sh; CONCURRENCY (32), LOAD_SECONDS (15),
# MAX_CONCURRENT (256), MAX_PENDING (2000), WHEN_FULL (refuse or wait).
source "$(dirname "$0")/lib.sh"
CONCURRENCY=${CONCURRENCY:-32}
LOAD_SECONDS=${LOAD_SECONDS:-15}
MAX_CONCURRENT=${MAX_CONCURRENT:-256}
MAX_PENDING=${MAX_PENDING:-2000}
WHEN_FULL=${WHEN_FULL:-refuse}

build_seed
WORK=$(mktemp -d)
LOG="$WORK/server.log"
PORT=$(free_port)
RUST_LOG=${RUST_LOG:-warn} start_seed "$PORT" "$WORK/agent.db" "$LOG" \
    AGNO_MAX_CONCURRENT="$MAX_CONCURRENT" AGNO_MAX_PENDING="$MAX_PENDING" AGNO_WHEN_FULL="$WHEN_FULL"
idle_kib=$(rss_kib "$SEED_PID")
python3 "$ROOT/scripts/drive.py" --url "http://127.0.0.1:$PORT" \
    --concurrency "$CONCURRENCY" --duration "$LOAD_SECONDS" --out "$WORK/acked.tsv" >"$WORK/drive.json" &
DRIVER=$!
STARTED_PIDS+=("$DRIVER")
echo "t_s,rss_kib,in_flight,running,queued,rejected,spawned,completed,waited" >"$WORK/samples.csv"
START=$(date +%s.%N)
sample() {
    local stats
    stats=$(curl -s --max-time 2 "http://127.0.0.1:$PORT/hooks" | python3 -c 'import json,sys
s=json.load(sys.stdin)["stats"]; print(",".join(str(s[k]) for k in ["in_flight","running"]) + "," + str(s["in_flight"]-s["running"]) + "," + ",".join(str(s[k]) for k in ["rejected","spawned","completed","waited"]))' || echo ",,,,,,")
    echo "$(python3 -c "print(round($(date +%s.%N)-$START,1))"),$(rss_kib "$SEED_PID"),$stats" >>"$WORK/samples.csv"
}
while kill -0 "$DRIVER" 2>/dev/null; do
    sample
    sleep 0.5
done
wait "$DRIVER" || true
sample  # the final counters, after the load
rejected_logged=$(grep -c 'background hook refused' "$LOG" || true)
python3 - "$WORK/samples.csv" "$WORK/drive.json" "$idle_kib" "$(hwm_kib "$SEED_PID")" "$rejected_logged" "$MAX_PENDING" <<'PY'
import csv, json, sys
rows = [r for r in csv.DictReader(open(sys.argv[1])) if r["in_flight"]]
drive = json.load(open(sys.argv[2]))
idle, peak, logged, max_pending = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
last = rows[-1]
result = {
    "runs_acknowledged": drive["acked"], "non_200": drive["non_200"], "conn_errors": drive["conn_errors"],
    "idle_rss_mib": round(idle / 1024, 1), "peak_rss_mib": round(peak / 1024, 1),
    "max_in_flight": max(int(r["in_flight"]) for r in rows), "max_pending": max_pending,
    "rejected": int(last["rejected"]), "rejections_logged": logged,
    "spawned": int(last["spawned"]), "completed": int(last["completed"]),
    "waited": int(last["waited"]),
}
print(json.dumps(result))
print("RSS curve (t_s: MiB, in_flight, rejected, waited):")
for r in rows[:: max(1, len(rows) // 15)]:
    print(f"  {r['t_s']:>5}: {int(r['rss_kib'])/1024:6.1f} MiB  in_flight={r['in_flight']:>6}  rejected={r['rejected']}  waited={r['waited']}")
ok = result["max_in_flight"] <= max_pending and drive["non_200"] == 0 and result["rejected"] == logged
sys.exit(0 if ok else 1)
PY
echo "backpressure: OK (samples $WORK/samples.csv)"
