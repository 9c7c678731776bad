#!/usr/bin/env python3
"""Drive runs at an AgentOS server and record every acknowledged run.

usage: drive.py --url http://127.0.0.1:PORT --agent ID --concurrency N
                --duration S --out acked.tsv [--stream]

Each worker thread POSTs the seed's multipart form (message, stream=false,
a session id of its own) in a loop. A 200 whose JSON has a run_id is an
acknowledged run: its `run_id<TAB>session_id<TAB>status` goes to --out. Connection errors
(the server was killed) and non-200 answers are counted, not retried.
Prints a JSON summary on stdout. Standard library only.
"""
import argparse
import http.client
import json
import threading
import time
import urllib.parse
import uuid

BOUNDARY = "----agnoDriveBoundary7MA4YWxkTrZu0gW"


def form(fields):
    parts = []
    for name, value in fields:
        parts.append(
            f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        )
    parts.append(f"--{BOUNDARY}--\r\n")
    return "".join(parts).encode()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--agent", default="background-task-agent")
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--out", required=True)
    p.add_argument("--stop-file", help="stop early when this file exists")
    p.add_argument("--message", default="Hello, how are you?", help="each run's message (then ` #N`)")
    args = p.parse_args()

    target = urllib.parse.urlparse(args.url)
    path = f"/agents/{args.agent}/runs"
    lock = threading.Lock()
    counts = {"tried": 0, "acked": 0, "non_200": 0, "conn_errors": 0}
    out = open(args.out, "w")
    deadline = time.monotonic() + args.duration

    def worker(n):
        session = f"drive-{n}-{uuid.uuid4().hex[:8]}"
        conn = None
        i = 0
        while time.monotonic() < deadline:
            if args.stop_file and i % 8 == 0:
                try:
                    open(args.stop_file).close()
                    return
                except FileNotFoundError:
                    pass
            i += 1
            body = form([("message", f"{args.message} #{i}"), ("stream", "false"), ("session_id", session)])
            with lock:
                counts["tried"] += 1
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
                conn.request("POST", path, body, {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
                resp = conn.getresponse()
                data = resp.read()
                if resp.status == 200:
                    run = json.loads(data)
                    with lock:
                        counts["acked"] += 1
                        out.write(f"{run['run_id']}\t{run['session_id']}\t{run['status']}\n")
                else:
                    with lock:
                        counts["non_200"] += 1
            except (OSError, http.client.HTTPException):
                with lock:
                    counts["conn_errors"] += 1
                if conn is not None:
                    conn.close()
                conn = None
                time.sleep(0.05)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(args.concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.close()
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
