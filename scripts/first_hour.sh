#!/usr/bin/env bash
# The first hour of a new user (issue 17): a crate of its own that depends
# on agno-server alone (plus tokio), with two programs: the README's server
# example, copied from the README as it is, and one with hooks that fail
# (inline, background, durable). Builds both, serves each, runs it once,
# stops it with SIGTERM, and checks that each logged its start-up, its
# hook failures and the shutdown report with no tracing setup of its own.
#
# usage: scripts/first_hour.sh      (CI runs it; about a minute once the
# workspace's debug build exists: the crate shares its target dir)
source "$(dirname "$0")/lib.sh"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/src"
cat >"$WORK/Cargo.toml" <<TOML
[package]
name = "first-hour"
version = "0.1.0"
edition = "2024"
publish = false

[dependencies]
agno-server = { path = "$ROOT/agno-server" }
tokio = { version = "1", features = ["macros", "rt-multi-thread"] }

[workspace]
TOML
# The workspace's versions, so the crate builds from the same artifacts.
cp "$ROOT/Cargo.lock" "$WORK/Cargo.lock"
cat >"$WORK/src/main.rs" <<'RUST'
use agno_server::{hook, Agent, AgentInfo, AgentOS, Echo, Job, RunInput, RunOutput, SqliteDb};

/// Inline: the response waits for it, and it sees every run.
#[hook]
async fn log_analytics(run_output: &RunOutput, agent: &AgentInfo) {
    agno_server::tracing::info!(agent = agent.display_name(), run = %run_output.run_id, "analytics");
}

/// In the background, durable, and failing for a message that says so.
#[hook(run_in_background = true, durable = true)]
async fn send_notification(run_output: &RunOutput, job: &Job) -> std::io::Result<()> {
    let _ = &job.id;
    if run_output.content.as_deref().unwrap_or_default().contains("fail") {
        return Err(std::io::Error::other("the notification service is down"));
    }
    Ok(())
}

/// In the background, in memory: a failure is logged once.
#[hook(run_in_background = true, durable = false)]
fn audit(run_input: &RunInput) -> Result<(), String> {
    if run_input.input_content.contains("fail") {
        return Err("the audit log is full".into());
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = std::env::var("PORT")?.parse()?;
    let db = std::env::var("DB")?;
    let agent = Agent::builder()
        .id("assistant")
        .model(Echo::new())
        .db(SqliteDb::new(db)?)
        .pre_hooks(audit)
        .post_hooks((log_analytics, send_notification))
        .build()?;
    AgentOS::builder()
        .agent(agent)
        .security_key("k")
        .build()?
        .serve(("127.0.0.1", port))
        .await?;
    Ok(())
}
RUST

# The README's server example, as it is (the block after its marker).
mkdir -p "$WORK/src/bin"
python3 - "$ROOT/README.md" "$WORK/src/bin/readme.rs" <<'PY'
import sys
text = open(sys.argv[1]).read()
after = text.split("<!-- scripts/first_hour.sh builds and runs the next block as it is -->", 1)[1]
block = after.split("```rust,no_run\n", 1)[1].split("\n```", 1)[0]
open(sys.argv[2], "w").write(block + "\n")
PY

echo "== building a crate that depends on agno-server alone (and tokio)"
(cd "$WORK" && cargo build --quiet --bins)
PORT=$(free_port)
env -u RUST_LOG PORT="$PORT" DB="$WORK/agent.db" "$CARGO_TARGET_DIR/debug/first-hour" >"$WORK/out.log" 2>&1 &
PID=$!
STARTED_PIDS+=("$PID")
wait_health "$PORT"
status=$(curl -s -o "$WORK/run.json" -w '%{http_code}' -X POST "http://127.0.0.1:$PORT/agents/assistant/runs" \
    -H 'Authorization: Bearer k' -F 'message=please fail' -F 'stream=false')
# Wait for both hooks' failures to be logged (the durable one's first attempt).
for _ in $(seq 1 200); do
    grep -q "the notification service is down" "$WORK/out.log" && grep -q "the audit log is full" "$WORK/out.log" && break
    sleep 0.05
done
kill -TERM "$PID"
wait "$PID" || true

fail=0
LOGFILE="$WORK/out.log"
check() { # WHAT PATTERN: whether $LOGFILE has it
    if grep -q "$2" "$LOGFILE"; then
        printf '%-44s ok\n' "$1"
    else
        printf '%-44s MISSING (%s)\n' "$1" "$2"
        fail=1
    fi
}
[ "$status" = 200 ] && echo "run answered 200                             ok" || { echo "run answered $status"; fail=1; }
check "start-up: listening"                "AgentOS listening on http://127.0.0.1:$PORT"
check "start-up: the security key is on"   'auth="security key"'
check "a hook's log line"                  "analytics"
check "an in-memory hook's failure"        "background hook failed: the audit log is full"
check "a durable hook's failure (retried)" "durable hook failed, will retry: the notification service is down"
check "the shutdown report"                "shutdown complete"
if [ "$fail" != 0 ]; then
    echo "--- the program's output"
    cat "$WORK/out.log"
    exit 1
fi

echo "== the README's server example, as written (port 7778, key k)"
if curl -s -o /dev/null "http://127.0.0.1:7778/health"; then
    echo "port 7778 is taken: the README's example cannot run here"; exit 1
fi
env -u RUST_LOG -u NOTIFY_URL "$CARGO_TARGET_DIR/debug/readme" >"$WORK/readme.log" 2>&1 &
PID=$!
STARTED_PIDS+=("$PID")
wait_health 7778
status=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:7778/agents/assistant/runs" \
    -H 'Authorization: Bearer k' -F 'message=hello' -F 'stream=false')
for _ in $(seq 1 200); do
    grep -q "NOTIFY_URL is not set" "$WORK/readme.log" && break
    sleep 0.05
done
kill -TERM "$PID"
wait "$PID" || true
LOGFILE="$WORK/readme.log"
[ "$status" = 200 ] && echo "README example: run answered 200              ok" || { echo "README example: run answered $status"; fail=1; }
check "README example: listening"            "AgentOS listening on http://127.0.0.1:7778"
check "README example: the key is on"        'auth="security key"'
check "README example: the hook's failure"   "NOTIFY_URL is not set"
check "README example: the shutdown report"  "shutdown complete"
if [ "$fail" != 0 ]; then
    echo "--- the README example's output"
    cat "$WORK/readme.log"
    exit 1
fi
