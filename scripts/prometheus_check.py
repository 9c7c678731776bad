"""A real Prometheus scrapes the seed's server (bench_server) under a
short load: runs, hooks by name and a failing hook's `failed` counter
move in its HTTP API; every query of the Grafana dashboard and every alert
rule evaluates there. Run by scripts/prometheus_check.sh.

usage: prometheus_check.py BENCH_SERVER WORKDIR
"""

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DASHBOARD = os.path.join(ROOT, "ops", "grafana", "agno-server.json")
RULES = os.path.join(ROOT, "ops", "prometheus", "alerts.yml")
AGENT = "background-task-agent"

results = []


def check(what, ok, detail=""):
    results.append(ok)
    print(f"{what:<78} {'ok' if ok else 'FAILED'}    {detail}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url, timeout=5):
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status, response.read().decode()


def wait_for(url, what, seconds=30):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            if get(url, timeout=1)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    sys.exit(f"{what} did not come up at {url}")


def query(prom, expr):
    url = f"{prom}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        _, body = get(url)
    except urllib.error.HTTPError as error:
        return {"status": "error", "error": error.read().decode()}
    return json.loads(body)


def scalar(prom, expr):
    """The value of a query that gives one series (0 when none)."""
    answer = query(prom, expr)
    data = answer.get("data", {}).get("result", [])
    return float(data[0]["value"][1]) if data else 0.0


def until(what, predicate, seconds=20):
    deadline = time.time() + seconds
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.25)
    return predicate()


def main():
    server_bin, work = sys.argv[1], sys.argv[2]
    port, prom_port = free_port(), free_port()
    base, prom = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{prom_port}"
    fail_flag = os.path.join(work, "mail-down")
    open(fail_flag, "w").close()
    env = dict(
        os.environ,
        PORT=str(port),
        AGNO_DB=os.path.join(work, "agent.db"),
        AGNO_OPEN_METRICS="1",
        OS_SECURITY_KEY="scrape-test-key",
        NOTIFY_MS="5",
        NOTIFY_FAIL_FILE=fail_flag,
        AGNO_RETRY_MS="300",
        AGNO_MAX_RETRY_MS="300",
        RUST_LOG="warn",
    )
    server_log = open(os.path.join(work, "server.log"), "w")
    server = subprocess.Popen([server_bin], env=env, stdout=server_log, stderr=subprocess.STDOUT, cwd=work)
    config = os.path.join(work, "prometheus.yml")
    with open(config, "w") as f:
        f.write(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            f"rule_files:\n  - {RULES}\n"
            "scrape_configs:\n  - job_name: agno-server\n"
            f"    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"
        )
    prom_log = open(os.path.join(work, "prometheus.log"), "w")
    prometheus = subprocess.Popen(
        [
            "prometheus",
            f"--config.file={config}",
            f"--storage.tsdb.path={os.path.join(work, 'tsdb')}",
            f"--web.listen-address=127.0.0.1:{prom_port}",
        ],
        stdout=prom_log,
        stderr=subprocess.STDOUT,
    )
    try:
        # The key is on (OS_SECURITY_KEY), the exposition open to the
        # scraper (AGNO_OPEN_METRICS=1): Prometheus has no key.
        wait_for(f"{base}/health", "the server")
        wait_for(f"{prom}/-/ready", "Prometheus")
        up = until("up", lambda: scalar(prom, f'up{{job="agno-server"}}') == 1.0)
        check("Prometheus scrapes the server (no key, exposition opened)", up)

        # Load: 4 clients for 4 s, the mail server down for the first half.
        sent, lock, stop = [0], threading.Lock(), time.time() + 4

        def client():
            while time.time() < stop:
                # The key is needed for the runs.
                request = urllib.request.Request(
                    f"{base}/agents/{AGENT}/runs",
                    data=urllib.parse.urlencode({"message": "hello", "stream": "false"}).encode(),
                    headers={
                        "Content-Type": "application/x-www-form-urlencoded",
                        "Authorization": "Bearer scrape-test-key",
                    },
                )
                with urllib.request.urlopen(request, timeout=10) as response:
                    assert response.status == 200, response.status
                with lock:
                    sent[0] += 1

        threads = [threading.Thread(target=client) for _ in range(4)]
        for t in threads:
            t.start()
        time.sleep(2)
        failed_during = until(
            "failed",
            lambda: scalar(prom, 'sum(agno_hooks_total{hook="send_notification", outcome="failed"})'),
        )
        os.remove(fail_flag)
        for t in threads:
            t.join()
        runs = sent[0]
        seen = until(
            "runs",
            lambda: scalar(prom, f'sum(agno_run_duration_seconds_count{{agent="{AGENT}", status="COMPLETED"}})') >= runs,
        )
        check(
            "runs: Prometheus counts every run answered",
            bool(seen),
            f"{runs} runs, {scalar(prom, 'sum(agno_run_duration_seconds_count)'):.0f} counted",
        )
        names = query(prom, "count by (hook) (agno_hooks_total)")["data"]["result"]
        hooks = sorted(r["metric"]["hook"] for r in names)
        check(
            "hooks by name: the seed's three hooks",
            hooks == ["log_analytics", "log_request", "send_notification"],
            ", ".join(hooks),
        )
        check("a failing hook's failed counter moves (mail server down)", failed_during > 0, f"{failed_during:.0f} failed attempts")
        later = until(
            "failed moved",
            lambda: scalar(prom, 'sum(agno_hooks_total{hook="send_notification", outcome="ok"})') >= runs,
            seconds=30,
        )
        retried = scalar(prom, f'sum(agno_jobs_retried_total{{agent="{AGENT}"}})')
        check(
            "the mail server back: every notification succeeds after its retries",
            bool(later),
            f"{retried:.0f} attempts retried",
        )
        check(
            "the failure rate shows in the hook-failure alert's expression",
            scalar(prom, 'sum(rate(agno_hooks_total{hook="send_notification", outcome="failed"}[1m]))') > 0,
        )

        dashboard = json.load(open(DASHBOARD))
        exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
        bad = []
        for expr in exprs:
            answer = query(prom, expr.replace("$__rate_interval", "15s"))
            empty = answer.get("status") == "success" and not answer["data"]["result"]
            # Postgres's panels are empty on SQLite.
            if answer.get("status") != "success" or (empty and "postgres" not in expr):
                bad.append(f"{expr}: {answer.get('error') or 'no series'}")
        check(f"the dashboard's {len(exprs)} queries evaluate, with data", not bad, "; ".join(bad))

        _, body = get(f"{prom}/api/v1/rules")
        groups = json.loads(body)["data"]["groups"]
        rules = [r for g in groups for r in g["rules"]]
        unhealthy = [r["name"] for r in rules if r.get("health") != "ok"]
        check(f"Prometheus loaded the {len(rules)} alert rules, all healthy", len(rules) == 7 and not unhealthy, ", ".join(unhealthy))
    finally:
        for process in (server, prometheus):
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
    passed = sum(results)
    print(f"{passed} passed, {len(results) - passed} failed")
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
