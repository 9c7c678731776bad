#!/usr/bin/env bash
# How long a restart takes to run the durable jobs a killed process left,
# and what a pending job costs on disk. Drives runs at the durable_hooks
# example with notifications that never finish (NOTIFY_MS=600000) until
# about JOBS jobs are pending, SIGKILLs it, restarts it on the same file
# with instant notifications, and times the queue to empty.
#
# usage: JOBS=10000 bench/recovery_drain.sh
source "$(dirname "$0")/../scripts/lib.sh"
JOBS=${JOBS:-10000}
EXAMPLE="$CARGO_TARGET_DIR/release/examples/durable_hooks"
(cd "$ROOT" && cargo build --release --locked -p examples --example durable_hooks >&2)
WORK=$(mktemp -d)
export AGNO_DB="$WORK/agent.db" NOTIFY_LOG="$WORK/notifications.log"

start() {
    local port=$1 ms=$2
    env -u OPENAI_API_KEY PORT="$port" NOTIFY_MS="$ms" RUST_LOG=warn "$EXAMPLE" >>"$WORK/server.log" 2>&1 &
    SEED_PID=$!
    STARTED_PIDS+=("$SEED_PID")
    wait_health "$port"
}

PORT=$(free_port)
start "$PORT" 600000
# Each run leaves one job that waits (send_notification; log_request
# completes at once).
python3 - "$PORT" "$JOBS" <<'PY'
import json, sys, threading, urllib.request
port, jobs = sys.argv[1], int(sys.argv[2])
runs = jobs
body = b"message=Hello%2C+how+are+you%3F&stream=false"
def worker(n):
    for _ in range(n):
        req = urllib.request.Request(f"http://127.0.0.1:{port}/agents/background-task-agent/runs", data=body,
            headers={"content-type": "application/x-www-form-urlencoded"})
        urllib.request.urlopen(req).read()
threads = [threading.Thread(target=worker, args=(runs // 8 + (i < runs % 8),)) for i in range(8)]
[t.start() for t in threads]; [t.join() for t in threads]
PY
kill -9 "$SEED_PID"; wait "$SEED_PID" 2>/dev/null || true
read -r pending payload_bytes file_bytes job_pages < <(python3 - "$AGNO_DB" <<'PY'
import os, sqlite3, sys
con = sqlite3.connect(sys.argv[1])
n, avg = con.execute("SELECT count(*), avg(length(payload)) FROM agno_jobs").fetchone()
con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
# The pages of the jobs table and its indexes (dbstat: the row, its key,
# its payload, and the pages' free space), what a pending job takes on disk.
try:
    pages = con.execute("SELECT sum(pgsize) FROM dbstat WHERE name = 'agno_jobs' "
                        "OR name IN (SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'agno_jobs')").fetchone()[0]
except sqlite3.OperationalError:
    pages = -1  # this sqlite3 has no dbstat
print(n, int(avg), os.path.getsize(sys.argv[1]), pages or 0)
PY
)
PORT=$(free_port)
started=$(date +%s.%N)
start "$PORT" 0
python3 - "$PORT" <<'PY'
import json, sys, time, urllib.request
for _ in range(12000):
    with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/queue/stats") as r:
        c = json.load(r)["counts"]
    if c["queued"] == 0 and c["running"] == 0:
        sys.exit(0)
    time.sleep(0.01)
sys.exit("the queue did not drain")
PY
drained=$(date +%s.%N)
done_lines=$(wc -l <"$NOTIFY_LOG")
python3 -c "
import json,sys
p,pb,fb,s,d,n,jp=sys.argv[1:8]
print(json.dumps({'pending_jobs_at_kill': int(p), 'payload_bytes_per_job': int(pb),
  'jobs_table_bytes_per_pending_job': round(int(jp) / max(int(p), 1)) if int(jp) >= 0 else None,
  'db_file_bytes': int(fb), 'restart_to_queue_empty_s': round(float(d)-float(s),2),
  'notifications_after_restart': int(n)}))" "$pending" "$payload_bytes" "$file_bytes" "$started" "$drained" "$done_lines" "$job_pages"
