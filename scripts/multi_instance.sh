#!/usr/bin/env bash
# Two instances on one Postgres database, one SIGKILLed mid-load: start the
# durable_hooks example twice (ports A and B, one DATABASE_URL; each
# send_notification appends and fsyncs a receipt per job), drive runs at
# both and background runs at A, SIGKILL A after KILL_AFTER seconds, keep
# B under load, then wait until the queue is empty, and count by run id:
# - every acknowledged run (from A or B) is stored, once;
# - every acknowledged run has its notification at least once (run by the
#   instance that accepted it, or by B once A's lease ran out); runs
#   notified twice are counted (a lease that ran out mid-hook);
# - every background run A accepted ends COMPLETED or, when it was under
#   way on A at the kill (one attempt, Agno's default), ERROR; none left
#   PENDING; the time from the kill until B had run everything.
#
# usage: scripts/multi_instance.sh; CONCURRENCY per instance (8),
# KILL_AFTER (3 s), RUN_FOR (8 s of load in all), NOTIFY_MS (200).
# Needs the Postgres server of the tests (AGNO_TEST_POSTGRES_URL, default
# the local one); works in a database of its own, dropped at the end.
source "$(dirname "$0")/lib.sh"
CONCURRENCY=${CONCURRENCY:-8}
KILL_AFTER=${KILL_AFTER:-3}
RUN_FOR=${RUN_FOR:-8}
export NOTIFY_MS=${NOTIFY_MS:-200}
SERVER_URL="${AGNO_TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/postgres}"
DBNAME="agno_multi_$$"
DATABASE_URL="${SERVER_URL%/*}/$DBNAME"
EXAMPLE="$CARGO_TARGET_DIR/release/examples/durable_hooks"
bash "$ROOT/scripts/postgres_ready.sh" >&2
(cd "$ROOT" && cargo build --release --locked -p examples --example durable_hooks >&2)
psql "$SERVER_URL" -qc "DROP DATABASE IF EXISTS $DBNAME" -c "CREATE DATABASE $DBNAME" >&2
drop_db() { psql "$SERVER_URL" -qc "DROP DATABASE IF EXISTS $DBNAME WITH (FORCE)" >&2 || true; }
trap 'cleanup; drop_db' EXIT

WORK=$(mktemp -d)
start() { # NAME PORT: starts an instance, sets PID
    env -u OPENAI_API_KEY PORT="$2" DATABASE_URL="$DATABASE_URL" NOTIFY_LOG="$WORK/receipts-$1.log" \
        RUST_LOG="${RUST_LOG:-info}" "$EXAMPLE" >>"$WORK/$1.log" 2>&1 &
    PID=$!
    STARTED_PIDS+=("$PID")
    wait_health "$2"
}
PORT_A=$(free_port); start a "$PORT_A"; PID_A=$PID
PORT_B=$(free_port); start b "$PORT_B"; PID_B=$PID

drive() { # NAME PORT
    python3 "$ROOT/scripts/drive.py" --url "http://127.0.0.1:$2" --concurrency "$CONCURRENCY" \
        --duration "$RUN_FOR" --out "$WORK/acked-$1.tsv" >"$WORK/drive-$1.json"
}
drive a "$PORT_A" & DRIVE_A=$!
drive b "$PORT_B" & DRIVE_B=$!
STARTED_PIDS+=("$DRIVE_A" "$DRIVE_B")
python3 - "$PORT_A" "$KILL_AFTER" "$WORK/background.txt" <<'PY' &
import json, sys, time, urllib.request
port, seconds, out = sys.argv[1], float(sys.argv[2]), sys.argv[3]
end = time.monotonic() + seconds + 1
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
before=$(curl -s "http://127.0.0.1:$PORT_B/queue/stats" || echo '{}')
kill -9 "$PID_A"
killed=$(date +%s.%N)
wait "$PID_A" 2>/dev/null || true
wait "$DRIVE_A" "$DRIVE_B"
wait "$SUBMITTER" || true

# B runs what A left once A's leases run out (30 s by default).
wait_queue_drained "$PORT_B" 300
drained=$(date +%s.%N)
kill -TERM "$PID_B"; wait "$PID_B" 2>/dev/null || true

cat "$WORK"/acked-*.tsv >"$WORK/acked.tsv"
cat "$WORK"/receipts-*.log >"$WORK/receipts.log" 2>/dev/null || true
psql "$DATABASE_URL" -At -c "SELECT run_id, status FROM ai.agno_runs" >"$WORK/runs.txt"
psql "$DATABASE_URL" -At -c "SELECT status, count(*) FROM ai.agno_jobs GROUP BY status" >"$WORK/jobs.txt"
# Failed jobs, and their run's status (a background run's row must say ERROR).
psql "$DATABASE_URL" -At -c "SELECT j.id, j.job_type, coalesce(r.status, '-') FROM ai.agno_jobs AS j
                             LEFT JOIN ai.agno_runs AS r ON r.run_id = j.id WHERE j.status = 'failed'" >"$WORK/failed.txt"
# Each session's runs: their count, and run_index's distinct values and
# largest (0, 1, 2, ... once each: no run stored twice, none missing).
psql "$DATABASE_URL" -At -c "SELECT session_id, count(*), count(DISTINCT run_index), coalesce(max(run_index), -1)
                             FROM ai.agno_runs GROUP BY session_id" >"$WORK/indexes.txt"
python3 - "$WORK" "$killed" "$drained" "$before" "${LEASE_S:-30}" <<'PY'
import collections, json, sys
work, killed, drained, before, lease = sys.argv[1:6]
lease = float(lease)
acked = [l.split("\t")[0] for l in open(f"{work}/acked.tsv").read().splitlines() if l]
acked_a = [l.split("\t")[0] for l in open(f"{work}/acked-a.tsv").read().splitlines() if l]
runs = dict(l.split("|") for l in open(f"{work}/runs.txt").read().splitlines() if l)
receipts = [l.split("\t") for l in open(f"{work}/receipts.log").read().splitlines() if l]
per_run = collections.Counter(r for r, _, _ in receipts)
by_b = collections.Counter(r for r, _, _ in (l.split("\t") for l in open(f"{work}/receipts-b.log").read().splitlines() if l))
taken_over = sum(1 for r in acked_a if by_b[r] > 0)
jobs = dict(l.split("|") for l in open(f"{work}/jobs.txt").read().splitlines() if l)
accepted = open(f"{work}/background.txt").read().split()
ends = collections.Counter(runs.get(r, "MISSING") for r in accepted)
missing_runs = [r for r in acked if r not in runs]
missing_notes = [r for r in acked if per_run[r] == 0]
unfinished = sum(n for s, n in ends.items() if s not in ("COMPLETED", "ERROR"))
failed = [l.split("|") for l in open(f"{work}/failed.txt").read().splitlines() if l]
failed_hooks = sum(1 for _, job_type, _ in failed if job_type == "hook")
failed_runs_not_error = sum(1 for _, job_type, status in failed if job_type == "run" and status != "ERROR")
sessions = [l.split("|") for l in open(f"{work}/indexes.txt").read().splitlines() if l]
bad_index = [sid for sid, n, distinct, top in sessions if not (int(n) == int(distinct) == int(top) + 1)]
by_a = collections.Counter(r for r, _, _ in (l.split("\t") for l in open(f"{work}/receipts-a.log").read().splitlines() if l))
twice = [r for r, n in per_run.items() if n > 1]
# A run notified twice must have been notified by A (which died before it
# recorded the job done) and again by B, which took the job over; A may
# have stored a run whose answer never reached its client, so "A had it"
# is read from A's receipts, not from what A acknowledged.
twice_not_a = [r for r in twice if by_a[r] == 0]
running_before = (json.loads(before or "{}").get("counts") or {}).get("running")
kill_to_drained = float(drained) - float(killed)
# The survivor looks for stale leases every third of a lease: the last of
# A's jobs is taken over within lease + lease / 3, plus the time to run it.
bound = lease + lease / 3 + 10
print(json.dumps({
    "sessions_with_run_index_not_0_to_n": len(bad_index),
    "runs_notified_twice_not_first_by_the_killed": len(twice_not_a),
    "jobs_running_at_the_kill": running_before,
    "kill_to_drained_bound_s": bound,
    "runs_acknowledged": len(acked),
    "acknowledged_by_killed_instance": len(acked_a),
    "acknowledged_runs_not_stored": len(missing_runs),
    "acknowledged_without_notification": len(missing_notes),
    "notifications_of_killed_instances_runs_run_by_survivor": taken_over,
    "runs_notified_more_than_once": sum(1 for n in per_run.values() if n > 1),
    "jobs_left": jobs,
    "queue_before_kill": json.loads(before or "{}").get("counts"),
    "kill_to_drained_s": round(float(drained) - float(killed), 2),
    "background_runs_accepted_by_killed": len(accepted),
    "background_runs_by_end": dict(ends),
}))
failures = []
if missing_runs:
    failures.append(f"{len(missing_runs)} acknowledged runs not stored")
if bad_index:
    failures.append(f"{len(bad_index)} sessions whose run_index is not 0..n once each")
if missing_notes:
    failures.append(f"{len(missing_notes)} acknowledged runs without a notification")
if unfinished:
    failures.append(f"{unfinished} background runs neither COMPLETED nor ERROR")
if twice_not_a:
    failures.append(f"{len(twice_not_a)} runs notified twice that the killed instance had not notified")
if running_before is not None and len(twice) > running_before:
    failures.append(f"{len(twice)} runs notified twice, more than the {running_before} jobs running at the kill")
if kill_to_drained > bound:
    failures.append(f"the survivor took {kill_to_drained:.1f} s, past the lease bound of {bound:.0f} s")
if int(jobs.get("queued", 0)) or int(jobs.get("running", 0)):
    failures.append(f"jobs left unfinished: {jobs}")
if failed_hooks:
    failures.append(f"{failed_hooks} durable hooks' jobs failed")
if failed_runs_not_error:
    failures.append(f"{failed_runs_not_error} failed background runs whose row does not say ERROR")
for failure in failures:
    print("FAIL:", failure, file=sys.stderr)
sys.exit(1 if failures else 0)
PY
echo "multi_instance: OK (work dir $WORK)"
