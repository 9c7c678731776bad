#!/usr/bin/env python3
"""The durable queue under the faults of a real deployment, each under load,
counted per run id from receipts the hook writes (bench_server's
send_notification with NOTIFY_LOG: run_id, job_id, attempt, pid).

usage: queue_faults.py BENCH BENCH_WITHOUT WORK [SCENARIO ...]
  BENCH          the bench_server binary
  BENCH_WITHOUT  the same built without send_notification (a rolling deploy)
  WORK           a scratch folder
  SCENARIO       pause_one pause_two skew second_process outage deploy
                 postgres_restart overload (default: all)

For each fault: acknowledged runs, hooks that never ran (must be 0),
duplicates (at most the attempts in flight at the fault), jobs failed that
had succeeded or could have (must be 0). Prints one JSON line per
scenario and exits non-zero when a check fails. Standard library only
(Postgres through psql). Loopback only; every process it starts is
stopped.
"""
import collections
import http.client
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time

PG_SERVER = os.environ.get("AGNO_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
AGENT = "background-task-agent"
PROCS = []


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start(binary, env, log, prefix=()):
    port = free_port()
    full = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    full.update(PORT=str(port), RUST_LOG="info", **env)
    proc = subprocess.Popen([*prefix, binary], env=full, stdout=open(log, "ab"), stderr=subprocess.STDOUT)
    PROCS.append(proc)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{binary} exited at start: see {log}")
        try:
            if get(port, "/health")[0] == 200:
                return proc, port
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{binary} never became healthy: see {log}")


def stop(proc, sig=signal.SIGTERM):
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def get(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path)
    r = conn.getresponse()
    body = r.read()
    conn.close()
    return r.status, body


def post_run(conn, message):
    body = f"message={message}&stream=false".encode()
    conn.request("POST", f"/agents/{AGENT}/runs", body=body,
                 headers={"content-type": "application/x-www-form-urlencoded"})
    r = conn.getresponse()
    data = r.read()
    return r.status, data


class Load:
    """`concurrency` clients POSTing runs for `seconds` (or `count` runs)."""

    def __init__(self, ports, concurrency, seconds=None, count=None):
        self.acked = []
        self.statuses = collections.Counter()
        self.lock = threading.Lock()
        self.sent = 0
        self.stop = threading.Event()
        deadline = time.monotonic() + (seconds or 3600)
        self.threads = []
        for i in range(concurrency):
            port = ports[i % len(ports)]
            t = threading.Thread(target=self.client, args=(port, deadline, count, i), daemon=True)
            t.start()
            self.threads.append(t)

    def client(self, port, deadline, count, i):
        conn = None
        n = 0
        while time.monotonic() < deadline and not self.stop.is_set():
            with self.lock:
                if count is not None and self.sent >= count:
                    return
                self.sent += 1
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                status, data = post_run(conn, f"run-{i}-{n}")
                n += 1
                with self.lock:
                    self.statuses[status] += 1
                    if status == 200:
                        self.acked.append(json.loads(data)["run_id"])
                if status != 200:
                    time.sleep(0.01)
            except (OSError, http.client.HTTPException):
                with self.lock:
                    self.statuses["conn_error"] += 1
                conn = None
                time.sleep(0.05)

    def join(self):
        for t in self.threads:
            t.join()
        return self


def receipts(path):
    per_run = collections.Counter()
    jobs = collections.defaultdict(set)
    if os.path.exists(path):
        for line in open(path).read().splitlines():
            parts = line.split("\t")
            if len(parts) >= 3:
                per_run[parts[0]] += 1
                jobs[parts[0]].add(parts[1])
    return per_run, jobs


def psql(url, sql, schema=None):
    env = dict(os.environ, PGOPTIONS=f"-c search_path={schema}") if schema else None
    out = subprocess.run(["psql", url, "-At", "-c", sql], capture_output=True, text=True, check=True,
                         env=env)
    return out.stdout.strip()


class PgDb:
    def __init__(self, name):
        self.name = f"agno_faults_{name}_{os.getpid()}"
        self.url = f"{PG_SERVER.rsplit('/', 1)[0]}/{self.name}"
        psql(PG_SERVER, f"DROP DATABASE IF EXISTS {self.name}")
        psql(PG_SERVER, f"CREATE DATABASE {self.name}")

    def query(self, sql):
        return psql(self.url, sql, schema="ai")

    def counts(self):
        rows = self.query("SELECT status || '=' || count(*) FROM agno_jobs GROUP BY status")
        return dict((k, int(v)) for k, v in (r.split("=") for r in rows.split() if r))

    def drop(self):
        subprocess.run(["psql", PG_SERVER, "-qc", f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)"],
                       capture_output=True)


def sqlite_counts(path):
    con = sqlite3.connect(path)
    rows = con.execute("SELECT status, count(*) FROM agno_jobs GROUP BY status").fetchall()
    con.close()
    return dict(rows)


def wait_drained(counts, seconds=120):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        c = counts()
        if c.get("queued", 0) == 0 and c.get("running", 0) == 0:
            return c
        time.sleep(0.2)
    return counts()


def judge(name, figures, failures):
    figures = {"scenario": name, **figures, "ok": not failures}
    print(json.dumps(figures), flush=True)
    for f in failures:
        print(f"FAIL {name}: {f}", file=sys.stderr, flush=True)
    return failures


def count_checks(acked, log, failed_jobs, in_flight):
    per_run, jobs = receipts(log)
    missing = [r for r in acked if per_run[r] == 0]
    duplicates = sum(1 for r in set(acked) if per_run[r] > 1)
    failures = []
    if missing:
        failures.append(f"{len(missing)} acknowledged runs whose hook never ran")
    if failed_jobs:
        failures.append(f"{failed_jobs} jobs failed")
    if duplicates > in_flight:
        failures.append(f"{duplicates} duplicates, more than the {in_flight} attempts in flight at the fault")
    if any(len(j) > 1 for j in jobs.values()):
        failures.append("a run's hook ran under two job ids")
    return {"acknowledged": len(acked), "never_ran": len(missing), "duplicates": duplicates,
            "in_flight_at_fault": in_flight, "failed": failed_jobs}, failures


# ---------------------------------------------------------------- scenarios

def pause(bench, work, two):
    """SIGSTOP past the lease (3 s) while 50 hooks of 6 s run; one instance,
    or two (the other takes the paused one's jobs over)."""
    name = "pause_two" if two else "pause_one"
    db = PgDb(name)
    log = f"{work}/{name}.receipts"
    env = dict(DATABASE_URL=db.url, AGNO_LEASE_MS="3000", NOTIFY_MS="6000", NOTIFY_LOG=log)
    try:
        a, pa = start(bench, env, f"{work}/{name}-a.log")
        if two:
            b, _ = start(bench, env, f"{work}/{name}-b.log")
        load = Load([pa], 10, count=50).join()
        in_flight = db.counts().get("running", 0)
        a.send_signal(signal.SIGSTOP)
        time.sleep(8)
        a.send_signal(signal.SIGCONT)
        counts = wait_drained(db.counts)
        figures, failures = count_checks(load.acked, log, counts.get("failed", 0),
                                         in_flight if two else 0)
        figures["statuses"] = dict(load.statuses)
        figures["jobs_left"] = counts
        stop(a)
        if two:
            stop(b)
        return judge(name, figures, failures)
    finally:
        db.drop()


def skew(bench, work, shift):
    """Two instances, the second's wall clock `shift` (libfaketime): leases are
    on the database's clock, so neither steals the other's live jobs."""
    name = f"skew_{shift}"
    db = PgDb(f"skew{abs(int(shift[:-1]))}{'p' if shift[0] == '+' else 'm'}")
    log = f"{work}/{name}.receipts"
    env = dict(DATABASE_URL=db.url, AGNO_LEASE_MS="5000", NOTIFY_MS="3000", NOTIFY_LOG=log)
    try:
        a, pa = start(bench, env, f"{work}/{name}-a.log")
        skewed = dict(env, FAKETIME_DONT_FAKE_MONOTONIC="1")
        b, pb = start(bench, skewed, f"{work}/{name}-b.log", prefix=("faketime", "-f", shift))
        load = Load([pa, pb], 8, seconds=8).join()
        counts = wait_drained(db.counts)
        figures, failures = count_checks(load.acked, log, counts.get("failed", 0), 0)
        figures["statuses"] = dict(load.statuses)
        stop(a)
        stop(b)
        return judge(name, figures, failures)
    finally:
        db.drop()


def second_process(bench, work):
    """A second process on the SQLite file another one serves is refused at
    start, naming the file; the first goes on untouched."""
    path = f"{work}/second.db"
    log = f"{work}/second.receipts"
    env = dict(AGNO_DB=path, NOTIFY_MS="500", NOTIFY_LOG=log)
    a, pa = start(bench, env, f"{work}/second-a.log")
    load = Load([pa], 4, count=20).join()
    full = dict(os.environ, PORT=str(free_port()), **env)
    full.pop("OPENAI_API_KEY", None)
    second = subprocess.run([bench], env=full, capture_output=True, text=True, timeout=30)
    said = second.stdout + second.stderr
    counts = wait_drained(lambda: sqlite_counts(path))
    figures, failures = count_checks(load.acked, log, counts.get("failed", 0), 0)
    figures["second_exit_code"] = second.returncode
    if second.returncode == 0 or ("in use by another process" not in said and "InUse" not in said):
        failures.append(f"the second process was not refused: {said[-300:]!r}")
    stop(a)
    return judge("second_process", figures, failures)


def outage(bench, work):
    """The mail server down for 20 s (a 10-minute outage, compressed by the
    retry delays): every hook completes once it is back, none failed."""
    path = f"{work}/outage.db"
    log = f"{work}/outage.receipts"
    flag = f"{work}/mail-down"
    open(flag, "w").close()
    env = dict(AGNO_DB=path, NOTIFY_MS="50", NOTIFY_LOG=log, NOTIFY_FAIL_FILE=flag,
               AGNO_RETRY_MS="500", AGNO_MAX_RETRY_MS="2000", AGNO_POLL_MS="100")
    a, pa = start(bench, env, f"{work}/outage.log")
    load = Load([pa], 8, count=200).join()
    time.sleep(20)
    during = sqlite_counts(path)
    os.remove(flag)
    counts = wait_drained(lambda: sqlite_counts(path))
    figures, failures = count_checks(load.acked, log, counts.get("failed", 0), 0)
    figures["jobs_during_outage"] = during
    stop(a)
    return judge("outage", figures, failures)


def deploy(bench, without, work):
    """A rolling deploy on Postgres: the old binary (with the hook) leaves a
    backlog and stops; a binary without the hook runs beside it and claims
    none of it; the hook's instance comes back and runs all of it."""
    db = PgDb("deploy")
    log = f"{work}/deploy.receipts"
    env = dict(DATABASE_URL=db.url, NOTIFY_MS="300", NOTIFY_LOG=log, AGNO_JOBS_MAX_CONCURRENT="4")
    try:
        a, pa = start(bench, env, f"{work}/deploy-a.log")
        b, pb = start(without, env, f"{work}/deploy-b.log")
        load_a = Load([pa], 4, seconds=4)
        load_b = Load([pb], 4, seconds=4)
        load_a.join()
        load_b.join()
        stop(a)  # SIGTERM: its backlog stays queued
        before = db.counts()
        time.sleep(5)
        after_gap = db.counts()
        # The new version of the instance with the hook, with the default
        # places: it drains what was left.
        back = {k: v for k, v in env.items() if k != "AGNO_JOBS_MAX_CONCURRENT"}
        a2, _ = start(bench, back, f"{work}/deploy-a2.log")
        counts = wait_drained(db.counts)
        figures, failures = count_checks(load_a.acked, log, counts.get("failed", 0), 0)
        figures["runs_on_the_binary_without_the_hook"] = len(load_b.acked)
        figures["queued_when_the_old_stopped"] = before.get("queued", 0)
        figures["queued_after_5_s_with_only_the_new"] = after_gap.get("queued", 0)
        if after_gap.get("queued", 0) < before.get("queued", 0):
            failures.append("the binary without the hook took jobs of it")
        stop(a2)
        stop(b)
        return judge("deploy", figures, failures)
    finally:
        db.drop()


def postgres_restart(bench, work):
    """Postgres restarted under load, then the instance's connections killed:
    503 while it is down (never 500), nothing acknowledged lost, no job
    failed for it."""
    db = PgDb("restart")
    log = f"{work}/restart.receipts"
    env = dict(DATABASE_URL=db.url, NOTIFY_MS="500", NOTIFY_LOG=log)
    version = os.listdir("/etc/postgresql")[0]
    try:
        a, pa = start(bench, env, f"{work}/restart.log")
        load = Load([pa], 8, seconds=14)
        time.sleep(4)
        in_flight = db.counts().get("running", 0)
        started = time.monotonic()
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"], check=True)
        restart_s = time.monotonic() - started
        time.sleep(4)
        in_flight += db.counts().get("running", 0)
        db.query("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                 f"WHERE datname = '{db.name}' AND application_name LIKE 'agno-server%'")
        load.join()
        counts = wait_drained(db.counts)
        figures, failures = count_checks(load.acked, log, counts.get("failed", 0), in_flight)
        figures["statuses"] = {str(k): v for k, v in load.statuses.items()}
        figures["restart_s"] = round(restart_s, 2)
        if load.statuses.get(500, 0):
            failures.append(f"{load.statuses[500]} answers were 500 (a database that is down is a 503)")
        stop(a)
        return judge("postgres_restart", figures, failures)
    finally:
        subprocess.run(["bash", os.path.join(os.path.dirname(__file__), "postgres_ready.sh")],
                       capture_output=True)
        db.drop()


def overload(bench, work):
    """A load far above what the 3 s hook drains (32 places: about 10 jobs/s),
    for 30 s: the backlog stops at its bound (2 000), runs past it are
    refused with 503 and Retry-After, the disk stops growing."""
    path = f"{work}/overload.db"
    env = dict(AGNO_DB=path, NOTIFY_MS="3000", AGNO_JOBS_MAX_CONCURRENT="32", AGNO_MAX_BACKLOG="2000")
    a, pa = start(bench, env, f"{work}/overload.log")
    load = Load([pa], 16, seconds=30)
    samples = []
    for _ in range(30):
        time.sleep(1)
        try:
            queued = sqlite_counts(path).get("queued", 0)
        except sqlite3.Error:
            queued = None
        size = sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))
        samples.append((queued, size))
    load.join()
    stop(a, signal.SIGKILL)
    queued = [q for q, _ in samples if q is not None]
    sizes = [s for _, s in samples]
    failures = []
    # Between two looks at the store (a second), the jobs this instance
    # queued count too: what gets past is what was in flight.
    bound = 2000 + 64
    if max(queued, default=0) > bound:
        failures.append(f"the backlog reached {max(queued)} jobs, past its bound of 2 000 (+64)")
    if not load.statuses.get(503, 0):
        failures.append("no run was refused past the bound")
    growth = (sizes[-1] - sizes[-11]) / max(sizes[-11], 1) if len(sizes) > 11 else 0
    return judge("overload", {
        "acknowledged": load.statuses.get(200, 0),
        "refused_503": load.statuses.get(503, 0),
        "queued_max": max(queued, default=0),
        "queued_last": queued[-1] if queued else None,
        "file_bytes_last": sizes[-1],
        "file_growth_last_10_s": round(growth, 3),
    }, failures)


def main():
    bench, without, work = sys.argv[1:4]
    wanted = sys.argv[4:] or ["pause_one", "pause_two", "skew", "second_process", "outage",
                              "deploy", "postgres_restart", "overload"]
    failures = []
    try:
        for name in wanted:
            if name == "pause_one":
                failures += pause(bench, work, two=False)
            elif name == "pause_two":
                failures += pause(bench, work, two=True)
            elif name == "skew0":
                failures += skew(bench, work, "+0s")
            elif name == "skew":
                failures += skew(bench, work, "+60s")
                failures += skew(bench, work, "-60s")
            elif name == "second_process":
                failures += second_process(bench, work)
            elif name == "outage":
                failures += outage(bench, work)
            elif name == "deploy":
                failures += deploy(bench, without, work)
            elif name == "postgres_restart":
                failures += postgres_restart(bench, work)
            elif name == "overload":
                failures += overload(bench, work)
            else:
                sys.exit(f"unknown scenario {name}")
    finally:
        for proc in PROCS:
            if proc.poll() is None:
                try:
                    proc.send_signal(signal.SIGCONT)
                except OSError:
                    pass
                proc.kill()
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
