#!/usr/bin/env bash
# Durable hooks are never lost: drive runs at the durable_hooks example
# (the seed's agent; send_notification appends and fsyncs a receipt per
# job), SIGKILL it mid-load, restart it on the same SQLite file, wait until
# the queue is empty, and count by run id: every acknowledged run has its
# notification at least once; duplicates (a hook run again after the
# crash) are counted. Alongside, background runs (background=true, 202)
# are submitted during the load: after the restart each must end COMPLETED
# or visibly ERROR (one attempt, Agno's default), none left PENDING.
#
# usage: scripts/durable_recovery.sh [ROUNDS] (default 2); CONCURRENCY
# (16), KILL_AFTER seconds (3), NOTIFY_MS per notification (200).
source "$(dirname "$0")/lib.sh"
ROUNDS=${1:-2}
CONCURRENCY=${CONCURRENCY:-16}
KILL_AFTER=${KILL_AFTER:-3}
export NOTIFY_MS=${NOTIFY_MS:-200}
EXAMPLE="$CARGO_TARGET_DIR/release/examples/durable_hooks"
(cd "$ROOT" && cargo build --release --locked -p examples --example durable_hooks >&2)

WORK=$(mktemp -d)
DB="$WORK/agent.db"
LOG="$WORK/server.log"
export NOTIFY_LOG="$WORK/notifications.log"
: >"$WORK/acked.tsv"
: >"$WORK/background.txt"

start() {
    local port=$1
    env -u OPENAI_API_KEY PORT="$port" AGNO_DB="$DB" RUST_LOG="${RUST_LOG:-info}" \
        "$EXAMPLE" >>"$LOG" 2>&1 &
    SEED_PID=$!
    STARTED_PIDS+=("$SEED_PID")
    wait_health "$port"
}

for round in $(seq 1 "$ROUNDS"); do
    PORT=$(free_port)
    start "$PORT"
    python3 "$ROOT/scripts/drive.py" --url "http://127.0.0.1:$PORT" \
        --concurrency "$CONCURRENCY" --duration $((KILL_AFTER + 2)) \
        --out "$WORK/acked-$round.tsv" >"$WORK/drive-$round.json" &
    DRIVER=$!
    STARTED_PIDS+=("$DRIVER")
    python3 - "$PORT" "$((KILL_AFTER + 2))" "$WORK/background-$round.txt" <<'PY' &
import sys, time, urllib.request, json
port, seconds, out = sys.argv[1], float(sys.argv[2]), sys.argv[3]
end = time.monotonic() + seconds
with open(out, "w") as f:
    while time.monotonic() < end:
        try:
            req = urllib.request.Request(f"http://127.0.0.1:{port}/agents/background-task-agent/runs",
                data=b"message=in+the+background&stream=false&background=true",
                headers={"content-type": "application/x-www-form-urlencoded"})
            with urllib.request.urlopen(req, timeout=5) as r:
                if r.status == 202:
                    f.write(json.load(r)["run_id"] + "\n"); f.flush()
        except Exception:
            pass
        time.sleep(0.01)
PY
    SUBMITTER=$!
    STARTED_PIDS+=("$SUBMITTER")
    sleep "$KILL_AFTER"
    stats=$(curl -s "http://127.0.0.1:$PORT/queue/stats" || echo '{}')
    echo "$stats" >>"$WORK/stats-at-kill.jsonl"
    kill -9 "$SEED_PID"
    wait "$SEED_PID" 2>/dev/null || true
    wait "$DRIVER"
    wait "$SUBMITTER" || true
    cat "$WORK/background-$round.txt" >>"$WORK/background.txt"
    cat "$WORK/acked-$round.tsv" >>"$WORK/acked.tsv"
    echo "round $round: $(cat "$WORK/drive-$round.json"); queue just before the SIGKILL: $stats"
done

# Restart on the same file: the jobs the killed processes left run now.
PORT=$(free_port)
started=$(date +%s.%N)
start "$PORT"
wait_queue_drained "$PORT" 300
drained=$(date +%s.%N)
kill -TERM "$SEED_PID"
wait "$SEED_PID" 2>/dev/null || true

python3 - "$DB" "$WORK/acked.tsv" "$NOTIFY_LOG" "$started" "$drained" "$WORK/background.txt" "$WORK/stats-at-kill.jsonl" <<'PY'
import collections, json, sqlite3, sys
db, acked_file, receipts, started, drained, background, at_kill = sys.argv[1:8]
# Jobs running when each SIGKILL came: only those can run twice.
running_at_kills = 0
for line in open(at_kill).read().splitlines():
    try:
        running_at_kills += json.loads(line)["counts"]["running"]
    except (ValueError, KeyError):
        running_at_kills = float("inf")  # not measured: no bound
        break
acked = [line.split("\t")[0] for line in open(acked_file).read().splitlines()]
lines = [l.split("\t") for l in open(receipts).read().splitlines() if l]
per_run = collections.Counter(run_id for run_id, _, _ in lines)
jobs_per_run = collections.defaultdict(set)
for run_id, job_id, _ in lines:
    jobs_per_run[run_id].add(job_id)
missing = [r for r in acked if per_run[r] == 0]
con = sqlite3.connect(db)
left = dict(con.execute("SELECT status, count(*) FROM agno_jobs GROUP BY status").fetchall())
stored = con.execute("SELECT count(*) FROM agno_runs").fetchone()[0]
accepted = open(background).read().split()
status = dict(con.execute("SELECT run_id, status FROM agno_runs WHERE run_id IN (SELECT value FROM json_each(?))",
                          (json.dumps(accepted),)).fetchall())
ends = collections.Counter(status.get(r, "MISSING") for r in accepted)
unfinished = sum(n for s, n in ends.items() if s not in ("COMPLETED", "ERROR"))
print(json.dumps({
    "runs_acknowledged": len(acked),
    "runs_stored": stored,
    "notifications": len(lines),
    "acknowledged_without_notification": len(missing),
    "runs_notified_more_than_once": sum(1 for n in per_run.values() if n > 1),
    "extra_notifications": sum(n - 1 for n in per_run.values() if n > 1),
    "distinct_job_ids_per_run_max": max((len(j) for j in jobs_per_run.values()), default=0),
    "jobs_running_at_the_kills": running_at_kills,
    "jobs_left_in_store": left,
    "restart_to_drained_s": round(float(drained) - float(started), 2),
    "background_runs_accepted": len(accepted),
    "background_runs_by_end": dict(ends),
}))
failures = []
if missing:
    failures.append(f"{len(missing)} acknowledged runs without a notification")
# A failed job may only be a background run under way at a kill (one
# attempt), its row ERROR; whether its 202 reached the client or not.
failed = con.execute("SELECT j.job_type, coalesce(r.status, '-') FROM agno_jobs AS j "
                     "LEFT JOIN agno_runs AS r ON r.run_id = j.id WHERE j.status = 'failed'").fetchall()
if any(job_type == "hook" for job_type, _ in failed):
    failures.append("durable hooks' jobs failed")
if any(job_type == "run" and status != "ERROR" for job_type, status in failed):
    failures.append("a failed background run whose row does not say ERROR")
if unfinished:
    failures.append(f"{unfinished} background runs neither COMPLETED nor ERROR")
if any(len(j) > 1 for j in jobs_per_run.values()):
    failures.append("a run's notification ran under two job ids (the job id must be stable)")
duplicates = sum(1 for n in per_run.values() if n > 1)
if duplicates > running_at_kills:
    failures.append(f"{duplicates} runs notified twice, more than the {running_at_kills} jobs running at the kills")
for failure in failures:
    print("FAIL:", failure, file=sys.stderr)
sys.exit(1 if failures else 0)
PY
echo "durable_recovery: OK (work dir $WORK)"
