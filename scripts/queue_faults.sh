#!/usr/bin/env bash
# The durable queue under the faults of a real deployment, under load:
# a pause past the lease (one instance and two), a clock 60 s ahead and
# behind on one of two instances (libfaketime), a second process on one
# SQLite file, a downstream outage (compressed), a rolling deploy (a
# binary without the hook beside one with it), Postgres restarted and its
# connections killed, an overload above what the hook drains. Counts per
# run id from the hook's receipts; see scripts/queue_faults.py for each
# scenario's checks. Release build, loopback only, about 4 minutes.
#
# usage: scripts/queue_faults.sh [SCENARIO ...]
# Needs the Postgres server of the tests (AGNO_TEST_POSTGRES_URL, default
# the local one, which the restart scenario restarts and leaves running);
# installs Debian's faketime when it is missing.
source "$(dirname "$0")/lib.sh"
bash "$ROOT/scripts/postgres_ready.sh" >&2
if ! command -v faketime >/dev/null; then
    (apt-get install -y faketime || (apt-get update && apt-get install -y faketime)) >&2
fi
WORK=$(mktemp -d)
# The binary without the hook first (the same path is rebuilt after).
(cd "$ROOT" && cargo build --release --locked -p examples --example bench_server --features without-notification >&2)
cp "$CARGO_TARGET_DIR/release/examples/bench_server" "$WORK/bench_server_without"
(cd "$ROOT" && cargo build --release --locked -p examples --example bench_server >&2)
python3 "$ROOT/scripts/queue_faults.py" "$CARGO_TARGET_DIR/release/examples/bench_server" \
    "$WORK/bench_server_without" "$WORK" "$@" | tee "$WORK/results.jsonl"
status=${PIPESTATUS[0]}
echo "queue_faults: work dir $WORK" >&2
exit "$status"
