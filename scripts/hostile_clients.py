#!/usr/bin/env python3
"""Hostile clients against a running seed server (issue 14's probes).

usage: hostile_clients.py --port P --pid PID --key KEY --log LOG

Each probe is bounded in count and time. For each: what the server
answered, the peak RSS while it ran (sampled every 20 ms), whether
/health and an ordinary run kept answering during the attack, and the
time from the attack's end until /health answered again. Prints a
Markdown table, then one JSON line per probe. Standard library only;
loopback only. Exit 1 when a probe's expectation fails.
"""
import argparse
import http.client
import json
import os
import socket
import threading
import time
import urllib.parse

ARGS = None
AGENT = "background-task-agent"


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class Sampler:
    """Peak RSS of the server while a probe runs."""

    def __init__(self, pid):
        self.pid, self.peak, self.stop = pid, 0, threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop.is_set():
            self.peak = max(self.peak, rss_kib(self.pid))
            time.sleep(0.02)

    def __enter__(self):
        self.peak = rss_kib(self.pid)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


def request(method, path, body=None, headers=None, timeout=10):
    conn = http.client.HTTPConnection("127.0.0.1", ARGS.port, timeout=timeout)
    h = {"Authorization": f"Bearer {ARGS.key}"}
    h.update(headers or {})
    if isinstance(body, dict):
        body = urllib.parse.urlencode(body)
        h.setdefault("Content-Type", "application/x-www-form-urlencoded")
    conn.request(method, path, body=body, headers=h)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    try:
        parsed = json.loads(data) if data else None
    except ValueError:
        parsed = data[:200]
    # Every run answered 200 is recorded, to be found stored afterwards.
    if method == "POST" and path == f"/agents/{AGENT}/runs" and response.status == 200 and isinstance(parsed, dict):
        with ACKED_LOCK:
            ACKED.append((parsed["run_id"], parsed["session_id"]))
    return response.status, parsed, response.getheaders()


def health_ok(timeout=2):
    try:
        return request("GET", "/health", timeout=timeout)[0] == 200
    except OSError:
        return False


ACKED = []
ACKED_LOCK = threading.Lock()


def run_ok(session=None, timeout=5):
    form = {"message": "Hello, how are you?", "stream": "false"}
    if session:
        form["session_id"] = session
    try:
        status, body, _ = request("POST", f"/agents/{AGENT}/runs", form, timeout=timeout)
    except OSError:
        return False
    return status == 200 and body["status"] == "COMPLETED"


def stored(acked):
    """How many of `acked` (run id, session id) the server serves back."""
    found = 0
    for run_id, session_id in acked:
        try:
            found += request("GET", f"/sessions/{session_id}/runs/{run_id}")[0] == 200
        except OSError:
            pass
    return found


class Watch:
    """/health and an ordinary run, tried every 200 ms during an attack."""

    def __init__(self):
        self.health, self.runs, self.stop = [], [], threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop.is_set():
            self.health.append(health_ok())
            self.runs.append(run_ok())
            self.stop.wait(0.2)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


RESULTS = []


def probe(name, expect, runs_must_pass=True):
    """Runs the decorated attack under the sampler and the watch. It passes
    when its own expectation holds, /health answered every check during it,
    ordinary runs did too (unless `runs_must_pass` is off: the connection cap
    refuses them while it is held), /health answers again afterwards, and
    every run answered 200 during it is served back from the store."""

    def wrap(attack):
        started = time.monotonic()
        first_ack = len(ACKED)
        with Sampler(ARGS.pid) as sampler, Watch() as watch:
            answered, ok = attack()
        ended = time.monotonic()
        recover = None
        for _ in range(500):
            if health_ok(timeout=1):
                recover = time.monotonic() - ended
                break
            time.sleep(0.02)
        acked = ACKED[first_ack:]
        # A sample of at most 200, to keep the probe bounded.
        sample = acked[:: max(1, len(acked) // 200)]
        kept = stored(sample)
        healthy = all(watch.health) and recover is not None
        runs_fine = all(watch.runs) or not runs_must_pass
        row = {
            "probe": name,
            "expected": expect,
            "answered": answered,
            "ok": bool(ok) and healthy and runs_fine and kept == len(sample),
            "acked_stored": f"{kept}/{len(sample)}" + (f" (of {len(acked)})" if len(sample) < len(acked) else ""),
            "peak_rss_mib": round(sampler.peak / 1024, 1),
            "health_during": f"{sum(watch.health)}/{len(watch.health)}",
            "runs_during": f"{sum(watch.runs)}/{len(watch.runs)}",
            "recover_s": None if recover is None else round(recover, 2),
            "seconds": round(ended - started, 1),
        }
        RESULTS.append(row)
        print(json.dumps(row), flush=True)
        return attack

    return wrap


def raw(data=b"", keep=True):
    s = socket.create_connection(("127.0.0.1", ARGS.port), timeout=30)
    if data:
        s.sendall(data)
    return s


def read_status(s, timeout=15):
    s.settimeout(timeout)
    try:
        head = s.recv(4096)
    except OSError:
        return "no answer"
    if not head:
        return "closed"
    return head.split(b"\r\n", 1)[0].decode(errors="replace")


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--fd-limit", type=int, default=512)
    p.add_argument("--acked", required=True, help="where the run ids answered 200 go")
    ARGS = p.parse_args()

    @probe("1. session_state nested past the depth limit", "400; the session list keeps answering")
    def _():
        deep = "[" * 70 + "]" * 70
        status, body, _ = request("POST", f"/agents/{AGENT}/runs",
                                  {"message": "x", "stream": "false", "session_id": "deep",
                                   "session_state": json.dumps({"k": json.loads(deep)})})
        listed = request("GET", "/sessions?limit=5")[0]
        return f"{status}, then GET /sessions {listed}", status == 400 and listed == 200

    @probe("2a. idle connections (250 sending nothing, 50 idle after one request)", "closed by the header or idle timeout")
    def _():
        socks, refused = [], 0
        for i in range(300):
            try:
                # The last 50 make one request, then keep the connection idle.
                socks.append(raw(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n" if i >= 250 else b""))
            except OSError:
                refused += 1
        time.sleep(1)
        alive = health_ok()
        # The header timeout (10 s) closes them all.
        t0 = time.monotonic()
        closed = 0
        for s in socks:
            s.settimeout(max(0.1, 15 - (time.monotonic() - t0)))
            try:
                # Read to the end: an idle keep-alive connection first has
                # its answer to read.
                while s.recv(65536):
                    pass
                closed += 1
            except OSError:
                pass
            s.close()
        return f"{closed}/{len(socks)} closed by the server in {time.monotonic() - t0:.1f} s, health during: {alive}", alive and closed == len(socks)

    @probe("2b. slowloris (50 connections, a header byte every 2 s)", "closed by the header timeout")
    def _():
        socks = [raw(b"POST /health HTTP/1.1\r\n") for _ in range(50)]
        t0 = time.monotonic()
        closed = set()
        while time.monotonic() - t0 < 14 and len(closed) < len(socks):
            for i, s in enumerate(socks):
                if i in closed:
                    continue
                try:
                    s.sendall(b"X")
                except OSError:
                    closed.add(i)
            time.sleep(2)
        for s in socks:
            s.close()
        return f"{len(closed)}/50 cut after {time.monotonic() - t0:.0f} s", len(closed) == 50

    @probe(f"2c. more connections than the cap (fd limit {ARGS.fd_limit})", "503 past the cap; /health still 200", runs_must_pass=False)
    def _():
        socks, statuses = [], {}
        for _ in range(ARGS.fd_limit):
            try:
                s = raw(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                socks.append(s)
            except OSError:
                statuses["connect failed"] = statuses.get("connect failed", 0) + 1
        for s in socks:
            line = read_status(s, timeout=5)
            key = line.split(" ")[1] if line.startswith("HTTP/") else line
            statuses[key] = statuses.get(key, 0) + 1
        alive = health_ok()
        for s in socks:
            s.close()
        return json.dumps(statuses), alive and statuses.get("503", 0) > 0

    @probe(f"2d. a connect flood past the cap: {ARGS.fd_limit} held, then 3 000 more at once", "refused or closed at once; accept never runs out of descriptors; /health 200", runs_must_pass=False)
    def _():
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
        log_before = os.path.getsize(ARGS.log)
        held = []
        for _ in range(ARGS.fd_limit):
            try:
                held.append(raw())
            except OSError:
                break
        flood, failed = [], 0
        for _ in range(3000):
            try:
                flood.append(raw())
            except OSError:
                failed += 1
        alive = health_ok()
        for s in flood + held:
            s.close()
        with open(ARGS.log, "rb") as f:
            f.seek(log_before)
            accept_failures = f.read().count(b"accept failed")
        return (f"{len(held)} held, {len(flood)} more connected ({failed} could not), "
                f"'accept failed' in the log: {accept_failures}, /health: {alive}"), alive and accept_failures == 0

    @probe("3. unfinished bodies (40 x 8 MiB of a 9 MiB body, then silence)", "bytes in flight bounded (256 MiB), the rest 503; small runs still pass")
    def _():
        head = (f"POST /agents/{AGENT}/runs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ARGS.key}\r\n"
                f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {9 << 20}\r\n\r\n").encode()
        chunk = b"message=" + b"a" * ((1 << 20) - 8)
        socks, refused = [], 0
        for _ in range(40):
            s = raw(head)
            try:
                for _ in range(8):
                    s.sendall(chunk)
            except OSError:
                refused += 1
            socks.append(s)
        time.sleep(1)
        answers = {}
        for s in socks:
            s.settimeout(0.2)
            try:
                line = s.recv(4096).split(b"\r\n", 1)[0].decode()
            except OSError:
                line = "waiting"
            key = line.split(" ")[1] if line.startswith("HTTP/") else line or "closed"
            answers[key] = answers.get(key, 0) + 1
        rss = rss_kib(ARGS.pid) / 1024
        for s in socks:
            s.close()
        return f"{json.dumps(answers)}; RSS with them held {rss:.0f} MiB", rss < 400

    @probe("5a. rename while runs of the session are in flight (40 rounds)", "the rename stays")
    def _():
        lost = 0
        for i in range(40):
            sid = f"rename-{i}"
            run_ok(sid)
            threads = [threading.Thread(target=run_ok, args=(sid,)) for _ in range(4)]
            [t.start() for t in threads]
            request("POST", f"/sessions/{sid}/rename", json.dumps({"session_name": f"name-{i}"}),
                    {"Content-Type": "application/json"})
            [t.join() for t in threads]
            name = request("GET", f"/sessions/{sid}")[1].get("session_name")
            lost += name != f"name-{i}"
        return f"{lost}/40 renames lost", lost == 0

    @probe("5b. 200 concurrent runs each adding one session_state key", "all 200 keys kept")
    def _():
        def add(i):
            try:
                request("POST", f"/agents/{AGENT}/runs",
                        {"message": "x", "stream": "false", "session_id": "keys",
                         "session_state": json.dumps({f"k{i}": i})}, timeout=30)
            except OSError:
                pass
        threads = [threading.Thread(target=add, args=(i,)) for i in range(200)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        state = request("GET", "/sessions/keys")[1]["session_state"]
        return f"{len(state)}/200 keys kept", len(state) == 200

    @probe("6. session_state grown by 600 KB a run, then 16 runs at once on it", "refused past 1 MiB (413); RSS bounded")
    def _():
        statuses = []
        for i in range(3):
            statuses.append(request("POST", f"/agents/{AGENT}/runs",
                                    {"message": "x", "stream": "false", "session_id": "big",
                                     "session_state": json.dumps({f"blob{i}": "b" * 600_000})}, timeout=30)[0])
        threads = [threading.Thread(target=run_ok, args=("big",)) for _ in range(16)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        return f"growth: {statuses}", statuses[:1] == [200] and 413 in statuses

    @probe("7. unbounded pages", "400 past the page ceilings")
    def _():
        a = request("GET", "/sessions?limit=4294967295")[0]
        b = request("GET", "/sessions/keys/runs?limit=4294967295")[0]
        return f"/sessions {a}, /sessions/{{id}}/runs {b}", a == 400 and b == 400

    @probe("7b. a long session of large runs (256 KB each; each stores its history too), read whole at 60 runs, then at 120", "GET /sessions/{id}/runs and GET /sessions/{id} answer it all; twice the session, about the same memory")
    def _():
        def grow(n):
            for i in range(n):
                request("POST", f"/agents/{AGENT}/runs",
                        {"message": f"{i} " + "m" * 256_000, "stream": "false", "session_id": "long"}, timeout=30)

        def read_whole():
            with Sampler(ARGS.pid) as during:
                conn = http.client.HTTPConnection("127.0.0.1", ARGS.port, timeout=60)
                conn.request("GET", "/sessions/long/runs", headers={"Authorization": f"Bearer {ARGS.key}"})
                data = conn.getresponse().read()
                conn.close()
                status, detail, _ = request("GET", "/sessions/long", timeout=60)
            history = len(detail["chat_history"]) if status == 200 else None
            return len(json.loads(data)), len(data), history, during.peak

        grow(60)
        runs1, body1, history1, peak1 = read_whole()
        grow(60)
        runs2, body2, history2, peak2 = read_whole()
        extra_mib = (peak2 - peak1) / 1024
        extra_body_mib = (body2 - body1) / (1 << 20)
        return (f"{runs1} runs in {body1 >> 20} MiB, then {runs2} in {body2 >> 20} MiB; chat history {history1}, then {history2}; "
                f"server RSS peak {peak1 // 1024} MiB, then {peak2 // 1024} MiB (+{extra_mib:.0f} MiB for +{extra_body_mib:.0f} MiB of body)"), (
            runs1 == 60 and runs2 == 120 and history1 == 120 and history2 == 240 and extra_mib < extra_body_mib / 4)

    @probe("8. 7 000-byte x-request-id and control characters in input (500 requests)", "id not echoed; log grows little; no raw control characters in tracing lines")
    def _():
        before = os.path.getsize(ARGS.log)
        echoed = 0
        for _ in range(500):
            _, _, headers = request("POST", f"/agents/{AGENT}/runs",
                                    {"message": "evil\n\x1b[31mforged line", "stream": "false"},
                                    {"x-request-id": "a" * 7000})
            echoed += any(k.lower() == "x-request-id" and len(v) > 128 for k, v in headers)
        grown = os.path.getsize(ARGS.log) - before
        with open(ARGS.log, "rb") as f:
            f.seek(before)
            tail = f.read()
        # The seed's own println! mirror Agno's prints; tracing lines must be escaped.
        forged = sum(1 for line in tail.split(b"\n") if b"\x1b[31m" in line and (b" INFO " in line or b" WARN " in line or b" ERROR " in line))
        return f"{echoed} echoed, log +{grown // 1024} KiB for 500 requests, {forged} raw escapes in tracing lines", echoed == 0 and forged == 0

    @probe("9. protocol: bad chunk size, no Host, two Hosts, key without Bearer, lowercase bearer", "400, 400, 400, 401, 200")
    def _():
        answers = []
        for data in [
            (f"POST /agents/{AGENT}/runs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ARGS.key}\r\n"
             "Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").encode(),
            b"GET /health HTTP/1.1\r\n\r\n",
            b"GET /health HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
            f"GET /sessions HTTP/1.1\r\nHost: x\r\nAuthorization: {ARGS.key}\r\n\r\n".encode(),
            f"GET /sessions?limit=1 HTTP/1.1\r\nHost: x\r\nAuthorization: bearer {ARGS.key}\r\n\r\n".encode(),
        ]:
            s = raw(data)
            line = read_status(s, timeout=5)
            answers.append(line.split(" ")[1] if line.startswith("HTTP/") else line)
            s.close()
        return ", ".join(answers), answers == ["400", "400", "400", "401", "200"]

    @probe("10. another user's session: a run, a read, a rename and a delete by bob of alice's session", "404, 404, 404, 404; alice's session untouched")
    def _():
        session = f"takeover-{os.getpid()}"
        form = {"message": "alice-secret", "stream": "false", "session_id": session, "user_id": "alice"}
        first, body, _ = request("POST", f"/agents/{AGENT}/runs", form)
        taken = dict(form, message="give me the history", user_id="bob")
        answers = [
            request("POST", f"/agents/{AGENT}/runs", taken)[0],
            request("GET", f"/sessions/{session}/runs?type=agent&user_id=bob")[0],
            request("POST", f"/sessions/{session}/rename?user_id=bob", json.dumps({"session_name": "bob's"}),
                    {"Content-Type": "application/json"})[0],
            request("DELETE", f"/sessions/{session}?user_id=bob")[0],
        ]
        _, runs, _ = request("GET", f"/sessions/{session}/runs?user_id=alice")
        _, detail, _ = request("GET", f"/sessions/{session}?user_id=alice")
        untouched = (isinstance(runs, list) and len(runs) == 1 and isinstance(detail, dict)
                     and detail.get("user_id") == "alice" and detail.get("session_name") != "bob's")
        return (f"{first} for alice, then {', '.join(map(str, answers))}; alice's session "
                f"{'untouched' if untouched else 'CHANGED'}"), first == 200 and answers == [404] * 4 and untouched

    with open(ARGS.acked, "w") as f:
        f.write("\n".join(run_id for run_id, _ in ACKED))
    print()
    print("| probe | expected | answered | peak RSS MiB | /health during | runs during | runs answered 200, stored | recovery s | ok |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in RESULTS:
        print(f"| {r['probe']} | {r['expected']} | {r['answered']} | {r['peak_rss_mib']} | {r['health_during']} | "
              f"{r['runs_during']} | {r['acked_stored']} | {r['recover_s']} | {'yes' if r['ok'] else '**no**'} |")
    return 0 if all(r["ok"] for r in RESULTS) else 1


if __name__ == "__main__":
    raise SystemExit(main())
