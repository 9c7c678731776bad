#!/usr/bin/env bash
# A durable tool hook is never lost: drive runs that each call a tool (the
# fake OpenAI server scripts `add`) at the seed example with AGNO_TOOLS=1
# and AGNO_TOOL_AUDIT=1,
# whose durable post-tool hook `audit_tool_call` appends and fsyncs a
# receipt per call; SIGKILL it mid-load, restart it on the same SQLite
# file, wait until the queue is empty, and count by tool call id: every
# call of every acknowledged run has its audit at least once; duplicates
# (an audit run again after the crash) are counted and bounded by the jobs
# that were running at the kills.
#
# usage: scripts/tool_audit_recovery.sh [ROUNDS] (default 2); CONCURRENCY
# (16), KILL_AFTER seconds (3), TOOL_AUDIT_MS per audit (200).
source "$(dirname "$0")/lib.sh"
ROUNDS=${1:-2}
CONCURRENCY=${CONCURRENCY:-16}
KILL_AFTER=${KILL_AFTER:-3}
export TOOL_AUDIT_MS=${TOOL_AUDIT_MS:-200}
prepare_bench

WORK=$(mktemp -d)
DB="$WORK/agent.db"
LOG="$WORK/server.log"
export TOOL_AUDIT_LOG="$WORK/audits.log"
: >"$WORK/acked.tsv"
: >"$TOOL_AUDIT_LOG"
start_fake "$WORK/fake.log"
FAKE="http://127.0.0.1:$FAKE_PORT/v1"
# Two calls in one turn: both are audited.
MESSAGE='sum [call add {"a": 1, "b": 2}] [call add {"a": 3, "b": 4}]'

start() {
    start_seed "$1" "$DB" "$LOG" AGNO_TOOLS=1 AGNO_TOOL_AUDIT=1 SEED_SKIP_NOTIFICATION=1 \
        OPENAI_API_KEY=fake OPENAI_BASE_URL="$FAKE"
}

for round in $(seq 1 "$ROUNDS"); do
    PORT=$(free_port)
    start "$PORT"
    python3 "$ROOT/scripts/drive.py" --url "http://127.0.0.1:$PORT" --message "$MESSAGE" \
        --concurrency "$CONCURRENCY" --duration $((KILL_AFTER + 2)) \
        --out "$WORK/acked-$round.tsv" >"$WORK/drive-$round.json" &
    DRIVER=$!
    STARTED_PIDS+=("$DRIVER")
    sleep "$KILL_AFTER"
    stats=$(curl -s "http://127.0.0.1:$PORT/queue/stats" || echo '{}')
    echo "$stats" >>"$WORK/stats-at-kill.jsonl"
    kill -9 "$SEED_PID"
    wait "$SEED_PID" 2>/dev/null || true
    wait "$DRIVER"
    cat "$WORK/acked-$round.tsv" >>"$WORK/acked.tsv"
    echo "round $round: $(cat "$WORK/drive-$round.json"); queue just before the SIGKILL: $stats"
done

# Restart on the same file: the audits the killed processes left run now.
PORT=$(free_port)
started=$(date +%s.%N)
start "$PORT"
wait_queue_drained "$PORT" 300
drained=$(date +%s.%N)
kill -TERM "$SEED_PID"
wait "$SEED_PID" 2>/dev/null || true

python3 - "$DB" "$WORK/acked.tsv" "$TOOL_AUDIT_LOG" "$started" "$drained" "$WORK/stats-at-kill.jsonl" <<'PY'
import collections, json, sqlite3, sys
db, acked_file, receipts, started, drained, at_kill = sys.argv[1:7]
running_at_kills = 0
for line in open(at_kill).read().splitlines():
    try:
        running_at_kills += json.loads(line)["counts"]["running"]
    except (ValueError, KeyError):
        running_at_kills = float("inf")  # not measured: no bound
        break
acked = [line.split("\t")[0] for line in open(acked_file).read().splitlines()]
con = sqlite3.connect(db)
runs = dict(con.execute("SELECT run_id, run_data FROM agno_runs").fetchall())
calls = {}  # call id -> run id, for every call of every acknowledged run
broken = []
for run_id in acked:
    run = json.loads(runs.get(run_id) or "{}")
    tools = run.get("tools") or []
    if len(tools) != 2 or any(t.get("result") not in ("3", "7") for t in tools):
        broken.append(run_id)
    for t in tools:
        calls[t["tool_call_id"]] = run_id
lines = [l.split("\t") for l in open(receipts).read().splitlines() if l]
per_call = collections.Counter(call_id for call_id, *_ in lines)
jobs_per_call = collections.defaultdict(set)
for call_id, run_id, job_id, _ in lines:
    jobs_per_call[call_id].add(job_id)
    if calls.get(call_id, run_id) != run_id:
        broken.append(f"{call_id} audited under another run")
missing = [c for c in calls if per_call[c] == 0]
left = dict(con.execute("SELECT status, count(*) FROM agno_jobs GROUP BY status").fetchall())
print(json.dumps({
    "runs_acknowledged": len(acked),
    "tool_calls_in_acknowledged_runs": len(calls),
    "audits": len(lines),
    "calls_without_audit": len(missing),
    "calls_audited_more_than_once": sum(1 for n in per_call.values() if n > 1),
    "extra_audits": sum(n - 1 for n in per_call.values() if n > 1),
    "jobs_running_at_the_kills": running_at_kills,
    "jobs_left_in_store": left,
    "restart_to_drained_s": round(float(drained) - float(started), 2),
}))
failures = []
if not acked:
    failures.append("no run was acknowledged")
if broken:
    failures.append(f"{len(broken)} acknowledged runs without their two tool results: {broken[:3]}")
if missing:
    failures.append(f"{len(missing)} tool calls of acknowledged runs without an audit")
if left.get("failed"):
    failures.append("audit jobs failed")
if any(len(j) > 1 for j in jobs_per_call.values()):
    failures.append("a call's audit ran under two job ids (the job id must be stable)")
duplicates = sum(1 for n in per_call.values() if n > 1)
if duplicates > running_at_kills:
    failures.append(f"{duplicates} calls audited twice, more than the {running_at_kills} jobs running at the kills")
for failure in failures:
    print("FAIL:", failure, file=sys.stderr)
sys.exit(1 if failures else 0)
PY
echo "tool_audit_recovery: OK (work dir $WORK)"
