#!/usr/bin/env python3
"""Agno's own code against ours, both ways (agno==3.1.10):

1. client:  Agno's AgentOSClient drives the seed example (config, agents,
            a run as JSON and streamed, sessions, a session's runs, a
            background run polled to its end, cancel of a background run
            and of a stream under way, the model held by a slow fake).
2. reads:   Agno's SqliteDb reads the file our server wrote: every agent
            session, each with its runs (content, status, agent id);
            get_session by id; nothing logged at WARNING or above.
3. writes:  Agno's own Agent + SqliteDb write a file (its model pointed at
            our fake OpenAI server); our server opens it, lists the
            sessions, continues one (Agno's runs go to the model as
            history); Agno reads the file again with our run in it.
1c. jwt:    with JWT auth on (HS256, user isolation), Agno's client runs
            as the token's user and cannot see another user's session;
            Agno's own RBAC functions (agno.os.scopes) decide a matrix of
            routes and scope sets, and our server decides each the same.
4. postgres: the same both ways on Postgres (DATABASE_URL for our server,
            Agno's PostgresDb), each side in a database of its own on the
            test server (AGNO_TEST_POSTGRES_URL, default the local one).
5. tools:   our server with a tool (`add`) and the fake OpenAI server
            scripting its calls: Agno's client reads the agent's tools, a
            run with a tool call as JSON (its `tools`) and streamed (its
            ToolCall events); Agno's SqliteDb reads the run's tools and
            tool messages; Agno's own Agent (with its own `add`) continues
            our session, sending our tool calls as history, and our server
            continues a session where Agno's Agent called its tool.

usage: compat.py SEED_BINARY FAKE_OPENAI_BINARY WORK_DIR
(scripts/agno_compat.sh makes the venv, builds nothing, and calls this.)
Prints one line per check and `N passed, M failed`; exits 1 on a failure.
"""
import asyncio
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request

AGENT = "background-task-agent"
RESULTS = []


def check(name):
    """Runs the decorated function now, recording ok or the failure."""

    def run(fn):
        try:
            detail = fn()
            RESULTS.append((name, True, detail or ""))
        except Exception as error:  # noqa: BLE001 - every failure is reported
            traceback.print_exc(file=sys.stderr)
            RESULTS.append((name, False, f"{type(error).__name__}: {error}"[:400]))
        return fn

    return run


class AgnoLog(logging.Handler):
    """Collects what Agno logs at WARNING or above."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.records = []

    def emit(self, record):
        self.records.append(f"{record.levelname} {record.getMessage()}")

    def __enter__(self):
        for name in ("agno", "agno-team", "agno-workflow"):
            logging.getLogger(name).addHandler(self)
        return self

    def __exit__(self, *exc):
        for name in ("agno", "agno-team", "agno-workflow"):
            logging.getLogger(name).removeHandler(self)
        assert not self.records, f"Agno logged: {self.records}"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, form=None):
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, json.loads(response.read() or b"null")


def http_any(method, url, headers=None):
    """Like `http`, with headers, answering any status instead of raising."""
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        body = error.read()
        try:
            return error.code, json.loads(body or b"null")
        except ValueError:
            return error.code, body.decode(errors="replace")


def wait_until(probe, what, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            probe()
            return
        except Exception:  # noqa: BLE001 - not up yet
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not come up in {timeout} s")


class Process:
    """A child process, killed at exit if still running."""

    ALL = []

    def __init__(self, args, env, log):
        self.log = open(log, "ab")
        self.proc = subprocess.Popen(args, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        Process.ALL.append(self)

    def stop(self):
        """SIGTERM, then wait for a clean exit (the server drains and closes its file)."""
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=60)
        assert code == 0, f"exit code {code}"

    @classmethod
    def kill_all(cls):
        for p in cls.ALL:
            if p.proc.poll() is None:
                p.proc.kill()


def start_seed(seed, db, work, name, **env):
    port = free_port()
    full = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OS_SECURITY_KEY")}
    full.update(PORT=str(port), AGNO_DB=db, SEED_SKIP_NOTIFICATION="1", RUST_LOG="info", **env)
    server = Process([seed], full, os.path.join(work, f"{name}.log"))
    base = f"http://127.0.0.1:{port}"
    wait_until(lambda: http("GET", f"{base}/health"), f"our server ({name})")
    return server, base


def run(base, message, **fields):
    status, body = http("POST", f"{base}/agents/{AGENT}/runs", {"message": message, "stream": "false", **fields})
    assert status == 200 and body["status"] == "COMPLETED", (status, body)
    return body


def main(seed, fake, work):
    from agno.client.os import AgentOSClient
    from agno.db.base import SessionType
    from agno.db.sqlite import SqliteDb

    fake_port = free_port()
    Process([fake, "--port", str(fake_port), "--record"], dict(os.environ), os.path.join(work, "fake.log"))
    fake_base = f"http://127.0.0.1:{fake_port}/v1"
    wait_until(lambda: http("GET", f"{fake_base}/_requests"), "the fake OpenAI server")

    # 1. Agno's client drives our server.
    ours = os.path.join(work, "ours.db")
    server, base = start_seed(seed, ours, work, "seed-client", AGNO_TRACING="1")
    client = AgentOSClient(base)
    state = {}
    # One event loop for every call: the client keeps its connections.
    loop = asyncio.new_event_loop()

    def call(name, fn):
        @check(f"client: {name}")
        def _():
            value = loop.run_until_complete(fn())
            return type(value).__name__

    call("get_config", lambda: client.aget_config())
    call("list_agents", lambda: client.list_agents())
    call("get_agent", lambda: client.aget_agent(AGENT))

    @check("client: run_agent (JSON)")
    def _():
        out = loop.run_until_complete(client.run_agent(AGENT, "Hello, how are you?", session_id="client-1", user_id="ada"))
        assert out.content == "Echo: Hello, how are you?", out.content
        state["run_id"] = out.run_id

    @check("client: run_agent_stream")
    def _():
        async def stream():
            return [type(e).__name__ async for e in client.run_agent_stream(AGENT, "And again", session_id="client-1", user_id="ada")]

        names = loop.run_until_complete(stream())
        assert names and names[-1] == "RunCompletedEvent", names
        return f"{len(names)} events"

    @check("client: run_agent into another user's session: 404 Session not found, as Agno")
    def _():
        try:
            loop.run_until_complete(client.run_agent(AGENT, "give me ada's history", session_id="client-1", user_id="bob"))
        except Exception as error:  # the client raises on a 4xx
            assert "404" in str(error), error
            return "refused"
        raise AssertionError("bob's run into ada's session was accepted")

    call("get_sessions", lambda: client.get_sessions())
    call("get_session", lambda: client.get_session("client-1"))

    @check("client: get_session_runs")
    def _():
        runs = loop.run_until_complete(client.get_session_runs("client-1"))
        assert len(runs) == 2, runs

    @check("client: get_session_run")
    def _():
        run_out = loop.run_until_complete(client.get_session_run("client-1", state["run_id"]))
        assert run_out.run_id == state["run_id"]

    @check("client: get_metrics / refresh_metrics / get_metrics_refresh_status parse our answers")
    def _():
        from datetime import date, datetime, timezone

        today = datetime.now(timezone.utc).date()
        status = loop.run_until_complete(client.get_metrics_refresh_status())
        assert status.status == "idle", status
        got = loop.run_until_complete(client.get_metrics(starting_date=today, ending_date=today))
        assert len(got.metrics) == 1, got
        day = got.metrics[0]
        assert day.id == f"{today.isoformat()}_daily", day.id
        assert day.date.date() == today, day.date
        assert day.agent_runs_count == 2 and day.agent_sessions_count == 1, day
        assert day.users_count == 1, day
        assert day.model_metrics == [{"model_id": "echo", "model_provider": "Echo", "count": 2}], day.model_metrics
        assert day.token_metrics["input_tokens"] > 0, day.token_metrics
        assert got.updated_at is not None
        rows = loop.run_until_complete(client.refresh_metrics())
        assert isinstance(rows, list) and rows[0].agent_runs_count == 2, rows
        started = loop.run_until_complete(client.refresh_metrics(background=True))
        assert started.status in ("started", "already_running"), started
        deadline = time.monotonic() + 10
        while True:
            status = loop.run_until_complete(client.get_metrics_refresh_status())
            if status.status != "running":
                break
            assert time.monotonic() < deadline, status
            time.sleep(0.02)
        assert status.status == "completed" and status.finished_at is not None, status
        before = loop.run_until_complete(client.get_metrics(starting_date=date(2000, 1, 1), ending_date=date(2000, 1, 2)))
        assert before.metrics == [], before
        return f"{day.agent_runs_count} runs today"

    @check("client: run_agent(background=True): 202 PENDING, then polled to COMPLETED")
    def _():
        out = loop.run_until_complete(
            client.run_agent(AGENT, "in the background", session_id="client-bg", background=True)
        )
        assert out.status.value == "PENDING", out.status
        assert out.session_id == "client-bg", out.session_id
        state["bg_run_id"] = out.run_id
        deadline = time.monotonic() + 30
        while True:
            _, polled = http("GET", f"{base}/agents/{AGENT}/runs/{out.run_id}?session_id=client-bg")
            if polled["status"] == "COMPLETED":
                assert polled["content"] == "Echo: in the background", polled
                return "COMPLETED"
            assert polled["status"] in ("PENDING", "RUNNING"), polled
            assert time.monotonic() < deadline, polled
            time.sleep(0.02)

    @check("client: cancel_agent_run (a finished run and an unknown one: 200, nothing changes)")
    def _():
        loop.run_until_complete(client.cancel_agent_run(AGENT, state["bg_run_id"]))
        loop.run_until_complete(client.cancel_agent_run(AGENT, "no-such-run"))
        _, polled = http("GET", f"{base}/agents/{AGENT}/runs/{state['bg_run_id']}?session_id=client-bg")
        assert polled["status"] == "COMPLETED", polled

    @check("client: get_traces / get_trace / get_trace_session_stats / search_traces parse our traces")
    def _():
        from agno.filters import AND, EQ

        # Traces are written in batches off the request path: wait for them.
        def two():
            page = loop.run_until_complete(client.get_traces(session_id="client-1"))
            assert page.meta.total_count == 2, page.meta
            state["traces"] = page

        wait_until(two, "the traces of client-1's two runs")
        page = state["traces"]
        summary = page.data[-1]
        assert summary.run_id == state["run_id"], summary
        assert summary.user_id == "ada" and summary.agent_id == AGENT, summary
        assert summary.input == "Hello, how are you?", summary
        assert summary.status == "OK" and summary.error_count == 0, summary
        assert summary.name == "BackgroundTaskAgent.arun", summary
        detail = loop.run_until_complete(client.get_trace(summary.trace_id))
        assert detail.output == "Echo: Hello, how are you?", detail
        root = detail.tree[0]
        kinds = [child.type for child in root.spans]
        assert "LLM" in kinds and "HOOK" in kinds, kinds
        llm = next(child for child in root.spans if child.type == "LLM")
        span = loop.run_until_complete(client.get_trace(summary.trace_id, span_id=llm.id))
        assert type(span).__name__ == "TraceNode" and span.name == llm.name, span
        stats = loop.run_until_complete(client.get_trace_session_stats(user_id="ada"))
        assert [s.session_id for s in stats.data] == ["client-1"], stats
        assert stats.data[0].total_traces == 2, stats
        found = loop.run_until_complete(
            client.search_traces(filter_expr=AND(EQ("user_id", "ada"), EQ("status", "OK")).to_dict())
        )
        assert found.meta.total_count == 2 and found.data[0].tree, found
        state["trace_id"] = summary.trace_id
        return f"{len(root.spans) + 1} spans in {summary.trace_id[:8]}…"

    # More sessions, by plain HTTP, then a clean stop.
    expected = {
        "client-1": ["Echo: Hello, how are you?", "Echo: And again"],
        "client-bg": ["Echo: in the background"],
    }
    for i in range(3):
        run(base, f"grace {i}", session_id="compat-grace", user_id="grace")
    expected["compat-grace"] = [f"Echo: grace {i}" for i in range(3)]
    anonymous = run(base, "no session given")
    expected[anonymous["session_id"]] = ["Echo: no session given"]
    # Our rows of today, with every run above, for Agno's to be compared with.
    status, _ = http("POST", f"{base}/metrics/refresh")
    assert status == 200, status
    server.stop()

    # 1b. Agno's client cancels a background run under way: the model (a
    # fake that answers after a minute) holds it until the cancel stops it.
    slow_port = free_port()
    Process([fake, "--port", str(slow_port), "--delay-ms", "60000"], dict(os.environ), os.path.join(work, "fake-slow.log"))
    slow_base = f"http://127.0.0.1:{slow_port}/v1"
    wait_until(lambda: socket.create_connection(("127.0.0.1", slow_port), timeout=1).close() or True, "the slow fake")
    slow_server, slow = start_seed(
        seed, os.path.join(work, "cancel.db"), work, "seed-cancel", OPENAI_API_KEY="compat", OPENAI_BASE_URL=slow_base
    )
    slow_client = AgentOSClient(slow)

    def poll_status(run_id, session_id, want, seconds=30):
        deadline = time.monotonic() + seconds
        while True:
            _, polled = http("GET", f"{slow}/agents/{AGENT}/runs/{run_id}?session_id={session_id}")
            if polled["status"] == want:
                return polled
            assert time.monotonic() < deadline, f"never {want}: {polled}"
            time.sleep(0.02)

    @check("client: cancel_agent_run of a background run under way: it ends CANCELLED")
    def _():
        out = loop.run_until_complete(
            slow_client.run_agent(AGENT, "cancel me", session_id="client-cancel", background=True)
        )
        poll_status(out.run_id, "client-cancel", "RUNNING")
        loop.run_until_complete(slow_client.cancel_agent_run(AGENT, out.run_id))
        # Stopped during its model call, long before the model answers.
        polled = poll_status(out.run_id, "client-cancel", "CANCELLED", seconds=20)
        return polled["status"]

    @check("client: cancel_agent_run of a streamed run under way: the stream ends with RunCancelled")
    def _():
        async def stream_and_cancel():
            names = []
            async for event in slow_client.run_agent_stream(AGENT, "stream, then cancel", session_id="client-cancel"):
                names.append(type(event).__name__)
                if len(names) == 1:
                    await slow_client.cancel_agent_run(AGENT, event.run_id)
            return names

        names = loop.run_until_complete(asyncio.wait_for(stream_and_cancel(), 20))
        assert names[-1] == "RunCancelledEvent", names
        return f"{len(names)} events"

    slow_server.stop()

    # 1c. JWTs: Agno's client with a bearer token, and Agno's own scope
    # decisions against ours (on the same event loop: Agno's client keeps
    # its connections on the loop it first ran on).
    jwt_checks(seed, work, loop)
    # 5. Tools, both ways (Agno's client on the same loop).
    tools_checks(seed, work, fake_base, loop)
    loop.close()

    # 2. Agno reads our file.
    @check("agno reads our file: sessions, runs, get_session, no warning")
    def _():
        with AgnoLog():
            db = SqliteDb(db_file=ours)
            sessions = db.get_sessions(session_type=SessionType.AGENT)
            got = {s.session_id: s for s in sessions}
            assert set(got) == set(expected), (sorted(got), sorted(expected))
            for session_id, contents in expected.items():
                session = got[session_id]
                assert session.agent_id == AGENT, session.agent_id
                runs = session.runs or []
                assert [r.content for r in runs] == contents, [r.content for r in runs]
                for r in runs:
                    assert r.status.value == "COMPLETED", r.status
                    assert r.agent_id == AGENT, r.agent_id
                one = db.get_session(session_id=session_id, session_type=SessionType.AGENT)
                assert one is not None and one.session_id == session_id
                assert [r.run_id for r in one.runs] == [r.run_id for r in runs]
            assert got["compat-grace"].user_id == "grace"
        return f"{len(expected)} sessions, {sum(map(len, expected.values()))} runs"

    @check("agno's SqliteDb recomputes our agno_metrics rows and finds what we found")
    def _():
        import sqlite3

        def rows():
            with sqlite3.connect(ours) as c:
                return {
                    (r[0], r[1]): r[2:]
                    for r in c.execute(
                        "SELECT date, user_id, id, agent_sessions_count, agent_runs_count, users_count,"
                        " token_metrics, model_metrics, created_at FROM agno_metrics"
                    )
                }

        from datetime import datetime, timezone

        # Only today's rows can be recomputed (Agno never goes back over a
        # completed day): compare those.
        today = datetime.now(timezone.utc).date().isoformat()
        mine = {k: v for k, v in rows().items() if k[0] == today}
        assert mine, rows()
        with AgnoLog():
            db = SqliteDb(db_file=ours)
            computed = db.calculate_metrics()
            read, latest = db.get_metrics()
        assert computed, computed
        theirs = {k: v for k, v in rows().items() if k[0] == today}
        assert set(theirs) == set(mine), (sorted(theirs), sorted(mine))
        for key, (row_id, sessions, runs, users, tokens, models, created) in mine.items():
            t = theirs[key]
            assert t[0] == row_id and t[6] == created, ("the upsert keeps id and created_at", key, t, row_id)
            assert t[1:4] == (sessions, runs, users), (key, t, (sessions, runs, users))
            assert json.loads(t[4]) == json.loads(tokens), (key, t[4], tokens)
            assert sorted(json.dumps(m, sort_keys=True) for m in json.loads(t[5])) == sorted(json.dumps(m, sort_keys=True) for m in json.loads(models)), (key, t[5], models)
        assert latest is not None and len(read) >= len(mine)
        return f"{len(mine)} rows of today alike"

    @check("agno's SqliteDb reads the traces we wrote (the last ones at shutdown)")
    def _():
        with AgnoLog():
            db = SqliteDb(db_file=ours)
            traces, total = db.get_traces(user_id="grace")
            one = db.get_trace(trace_id=state["trace_id"])
            spans = db.get_spans(trace_id=state["trace_id"])
            stats, sessions = db.get_trace_stats(user_id="ada")
        # grace's three runs came just before the stop.
        assert total == 3 and len(traces) == 3, (total, traces)
        assert {t.session_id for t in traces} == {"compat-grace"}, traces
        assert one is not None and one.run_id == state["run_id"], one
        assert one.total_spans == len(spans) >= 3, (one, spans)
        assert sum(1 for s in spans if s.parent_span_id is None) == 1, spans
        assert sessions == 1 and stats[0]["total_traces"] == 2, stats
        return f"{total} traces of grace, {len(spans)} spans in one"

    # 3. Agno writes, we continue, Agno reads again.
    theirs = os.path.join(work, "theirs.db")

    @check("agno writes a file with its own Agent")
    def _():
        from agno.agent import Agent
        from agno.models.openai import OpenAIResponses

        with AgnoLog():
            agent = Agent(
                id=AGENT,
                name="BackgroundTaskAgent",
                model=OpenAIResponses(id="gpt-5.2", api_key="compat", base_url=fake_base),
                db=SqliteDb(db_file=theirs),
                instructions="You are a helpful assistant",
                add_history_to_context=True,
            )
            for message in ("agno first", "agno second"):
                out = agent.run(message, session_id="agno-1", user_id="linus")
                assert out.content == f"Fake answer to: {message}", out.content
            agent.run("agno elsewhere", session_id="agno-2")

    server, base = start_seed(seed, theirs, work, "seed-theirs", OPENAI_API_KEY="compat", OPENAI_BASE_URL=fake_base)

    @check("our server lists Agno's sessions")
    def _():
        status, body = http("GET", f"{base}/sessions?type=agent")
        assert status == 200, status
        ids = {s["session_id"] for s in body["data"]}
        assert ids == {"agno-1", "agno-2"}, ids

    @check("our server continues Agno's session with its history")
    def _():
        out = run(base, "continue please", session_id="agno-1", user_id="linus")
        assert out["content"] == "Fake answer to: continue please", out["content"]
        _, requests = http("GET", f"{fake_base}/_requests")
        sent = json.dumps(requests[-1]["body"]["input"])
        for earlier in ("agno first", "Fake answer to: agno first", "agno second", "Fake answer to: agno second"):
            assert earlier in sent, f"{earlier!r} not in the history sent: {sent}"
        assert "agno elsewhere" not in sent, "another session's run leaked into the history"

    server.stop()

    @check("agno reads the file again with our run in it")
    def _():
        with AgnoLog():
            db = SqliteDb(db_file=theirs)
            session = db.get_session(session_id="agno-1", session_type=SessionType.AGENT)
            contents = [r.content for r in session.runs]
            assert contents == [
                "Fake answer to: agno first",
                "Fake answer to: agno second",
                "Fake answer to: continue please",
            ], contents
            assert session.runs[-1].status.value == "COMPLETED"
            assert session.runs[-1].agent_id == AGENT

    # 4. The same both ways on Postgres: Agno's PostgresDb reads what our
    # server wrote, and our server continues what Agno's Agent wrote (each
    # in a database of its own, dropped at the end).
    postgres_checks(seed, work, fake_base)

    width = max(len(n) for n, _, _ in RESULTS)
    for name, ok, detail in RESULTS:
        print(f"{name:<{width}}  {'ok  ' if ok else 'FAIL'}  {detail}")
    failed = sum(1 for _, ok, _ in RESULTS if not ok)
    print(f"{len(RESULTS) - failed} passed, {failed} failed")
    return failed == 0


PG_SERVER = os.environ.get("AGNO_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


TOOL_CALL = '[call add {"a": 2, "b": 3}]'


def history_items(fake_base):
    """The last request the fake model got: its function calls and their outputs."""
    _, requests = http("GET", f"{fake_base}/_requests")
    items = requests[-1]["body"]["input"]
    calls = [i for i in items if i.get("type") == "function_call"]
    outputs = [i for i in items if i.get("type") == "function_call_output"]
    return calls, outputs


def tools_checks(seed, work, fake_base, loop):
    from agno.agent import Agent
    from agno.client.os import AgentOSClient
    from agno.db.base import SessionType
    from agno.db.sqlite import SqliteDb
    from agno.models.openai import OpenAIResponses
    from agno.tools import tool

    db_file = os.path.join(work, "tools.db")
    server, base = start_seed(
        seed, db_file, work, "seed-tools", AGNO_TOOLS="1", OPENAI_API_KEY="compat", OPENAI_BASE_URL=fake_base
    )
    client = AgentOSClient(base)
    state = {}

    @check("tools: client get_agent lists our tool")
    def _():
        agent = loop.run_until_complete(client.aget_agent(AGENT))
        tools = agent.tools["tools"] if isinstance(agent.tools, dict) else agent.tools
        names = [t["name"] for t in tools]
        assert names == ["add"], agent.tools
        add = tools[0]
        assert add["parameters"]["required"] == ["a", "b"], add
        return f"{names}"

    @check("tools: client run_agent parses a run with a tool call")
    def _():
        out = loop.run_until_complete(client.run_agent(AGENT, f"sum {TOOL_CALL}", session_id="tools-1", user_id="ada"))
        assert out.content == f"Fake answer to: sum {TOOL_CALL} [tool results: 5]", out.content
        assert len(out.tools) == 1, out.tools
        t = out.tools[0]
        assert t.tool_name == "add" and t.result == "5" and t.tool_args == {"a": 2, "b": 3}, t
        assert t.tool_call_error is False and t.metrics is not None, t
        state["call_id"] = t.tool_call_id

    @check("tools: client run_agent_stream gets ToolCallStarted and ToolCallCompleted")
    def _():
        async def stream():
            return [e async for e in client.run_agent_stream(AGENT, f"again {TOOL_CALL}", session_id="tools-1", user_id="ada")]

        events = loop.run_until_complete(stream())
        names = [type(e).__name__ for e in events]
        assert "ToolCallStartedEvent" in names and "ToolCallCompletedEvent" in names, names
        assert names.index("ToolCallStartedEvent") < names.index("ToolCallCompletedEvent"), names
        done = events[names.index("ToolCallCompletedEvent")]
        assert done.tool.tool_name == "add" and done.tool.result == "5", done.tool
        assert names[-1] == "RunCompletedEvent", names
        return f"{len(events)} events"

    @check("tools: client get_session_runs parses our stored tools")
    def _():
        runs = loop.run_until_complete(client.get_session_runs("tools-1"))
        assert len(runs) == 2, runs
        # Agno's client leaves a listed run's tools as dicts.
        names = [getattr(t, "tool_name", None) or t["tool_name"] for r in runs for t in r.tools or []]
        assert names == ["add", "add"], [r.tools for r in runs]

    server.stop()

    @check("tools: agno's SqliteDb reads our run's tools and tool messages")
    def _():
        with AgnoLog():
            db = SqliteDb(db_file=db_file)
            session = db.get_session(session_id="tools-1", session_type=SessionType.AGENT)
        first = session.runs[0]
        assert first.tools[0].tool_name == "add" and first.tools[0].result == "5", first.tools
        roles = [m.role for m in first.messages]
        assert roles[-3:] == ["assistant", "tool", "assistant"], roles
        assistant, result = first.messages[-3], first.messages[-2]
        assert assistant.tool_calls[0]["function"]["name"] == "add", assistant.tool_calls
        assert result.tool_call_id == state["call_id"] and result.content == "5", result
        return f"roles {roles}"

    @tool
    def add(a: int, b: int) -> int:
        """Adds two numbers."""
        return a + b

    def agno_agent():
        return Agent(
            id=AGENT,
            name="BackgroundTaskAgent",
            model=OpenAIResponses(id="gpt-5.2", api_key="compat", base_url=fake_base),
            db=SqliteDb(db_file=db_file),
            tools=[add],
            instructions="You are a helpful assistant",
            add_history_to_context=True,
        )

    @check("tools: agno's Agent continues our session, our tool calls in its history")
    def _():
        with AgnoLog():
            out = agno_agent().run("what did the tool say?", session_id="tools-1", user_id="ada")
        assert out.content == "Fake answer to: what did the tool say?", out.content
        calls, outputs = history_items(fake_base)
        assert [c["name"] for c in calls] == ["add", "add"], calls
        assert [o["output"] for o in outputs] == ["5", "5"], outputs
        assert {o["call_id"] for o in outputs} == {c["call_id"] for c in calls}, (calls, outputs)

    @check("tools: agno's Agent calls its own tool in a session of its own")
    def _():
        with AgnoLog():
            out = agno_agent().run(f"agno sums {TOOL_CALL}", session_id="tools-agno", user_id="linus")
        assert out.content == f"Fake answer to: agno sums {TOOL_CALL} [tool results: 5]", out.content
        assert out.tools and out.tools[0].tool_name == "add", out.tools

    server, base = start_seed(
        seed, db_file, work, "seed-tools-2", AGNO_TOOLS="1", OPENAI_API_KEY="compat", OPENAI_BASE_URL=fake_base
    )

    @check("tools: our server continues agno's session, its tool call in our history")
    def _():
        out = run(base, "and what did yours say?", session_id="tools-agno", user_id="linus")
        assert out["content"] == "Fake answer to: and what did yours say?", out["content"]
        calls, outputs = history_items(fake_base)
        assert [c["name"] for c in calls] == ["add"], calls
        assert json.loads(calls[0]["arguments"]) == {"a": 2, "b": 3}, calls
        assert [o["output"] for o in outputs] == ["5"], outputs
        assert outputs[0]["call_id"] == calls[0]["call_id"], (calls, outputs)

    server.stop()


def pg_database(name):
    """A fresh database on the test server; returns (our URL, Agno's URL, drop)."""
    import psycopg

    with psycopg.connect(PG_SERVER, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_SERVER.rsplit("/", 1)[0]
    ours = f"{base}/{name}"
    agnos = ours.replace("postgresql://", "postgresql+psycopg://", 1)

    def drop():
        with psycopg.connect(PG_SERVER, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return ours, agnos, drop


def postgres_checks(seed, work, fake_base):
    from agno.db.base import SessionType
    from agno.db.postgres import PostgresDb

    suffix = os.getpid()
    ours_url, ours_agno, drop_ours = pg_database(f"agno_compat_ours_{suffix}")
    theirs_url, theirs_agno, drop_theirs = pg_database(f"agno_compat_theirs_{suffix}")
    try:
        server, base = start_seed(seed, "unused.db", work, "seed-pg", DATABASE_URL=ours_url)
        written = {}
        for session_id, user, messages in (("pg-1", "ada", ["pg one", "pg two"]), ("pg-2", None, ["pg three"])):
            for message in messages:
                fields = {"session_id": session_id}
                if user:
                    fields["user_id"] = user
                out = run(base, message, **fields)
                written.setdefault(session_id, []).append(out["content"])
        status, _ = http("POST", f"{base}/metrics/refresh")
        assert status == 200, status
        server.stop()

        @check("agno's PostgresDb recomputes our agno_metrics rows and finds what we found")
        def _():
            from sqlalchemy import text

            def rows(db):
                with db.db_engine.connect() as c:
                    return {
                        (str(r[0]), r[1]): tuple(r[2:])
                        for r in c.execute(
                            text(
                                "SELECT date, user_id, id, agent_sessions_count, agent_runs_count, users_count,"
                                " token_metrics, model_metrics, created_at FROM ai.agno_metrics"
                            )
                        )
                    }

            with AgnoLog():
                db = PostgresDb(db_url=ours_agno)
                mine = rows(db)
                assert len(mine) == 2, mine  # ada's and the unowned bucket, today
                assert db.calculate_metrics(), "agno computed nothing"
                theirs = rows(db)
            assert set(theirs) == set(mine), (sorted(theirs), sorted(mine))
            for key, (row_id, sessions, runs, users, tokens, models, created) in mine.items():
                t = theirs[key]
                assert t[0] == row_id and t[6] == created, ("the upsert keeps id and created_at", key, t)
                assert t[1:4] == (sessions, runs, users), (key, t, (sessions, runs, users))
                assert t[4] == tokens, (key, t[4], tokens)
                key_of = lambda m: json.dumps(m, sort_keys=True)
                assert sorted(map(key_of, t[5])) == sorted(map(key_of, models)), (key, t[5], models)
            return f"{len(mine)} rows alike"

        @check("agno's PostgresDb reads our sessions and runs")
        def _():
            with AgnoLog():
                db = PostgresDb(db_url=ours_agno)
                sessions = db.get_sessions(session_type=SessionType.AGENT)
                got = {s.session_id: s for s in sessions}
                assert set(got) == set(written), (sorted(got), sorted(written))
                for session_id, contents in written.items():
                    runs = got[session_id].runs or []
                    assert [r.content for r in runs] == contents, [r.content for r in runs]
                    assert all(r.status.value == "COMPLETED" and r.agent_id == AGENT for r in runs)
                assert got["pg-1"].user_id == "ada"
            return f"{len(written)} sessions"

        @check("agno's Agent writes Postgres with its own PostgresDb")
        def _():
            from agno.agent import Agent
            from agno.models.openai import OpenAIResponses

            with AgnoLog():
                agent = Agent(
                    id=AGENT,
                    name="BackgroundTaskAgent",
                    model=OpenAIResponses(id="gpt-5.2", api_key="compat", base_url=fake_base),
                    db=PostgresDb(db_url=theirs_agno),
                    instructions="You are a helpful assistant",
                    add_history_to_context=True,
                )
                for message in ("agno pg first", "agno pg second"):
                    agent.run(message, session_id="agno-pg", user_id="linus")

        server, base = start_seed(
            seed, "unused.db", work, "seed-pg-theirs",
            DATABASE_URL=theirs_url, OPENAI_API_KEY="compat", OPENAI_BASE_URL=fake_base,
        )

        @check("our server continues Agno's Postgres session with its history")
        def _():
            status, body = http("GET", f"{base}/sessions?type=agent")
            assert status == 200 and {s["session_id"] for s in body["data"]} == {"agno-pg"}, body
            out = run(base, "pg continue", session_id="agno-pg", user_id="linus")
            assert out["content"] == "Fake answer to: pg continue", out["content"]
            _, requests = http("GET", f"{fake_base}/_requests")
            sent = json.dumps(requests[-1]["body"]["input"])
            for earlier in ("agno pg first", "Fake answer to: agno pg second"):
                assert earlier in sent, f"{earlier!r} not in the history sent: {sent}"

        server.stop()

        @check("agno's PostgresDb reads the session again with our run in it")
        def _():
            with AgnoLog():
                db = PostgresDb(db_url=theirs_agno)
                session = db.get_session(session_id="agno-pg", session_type=SessionType.AGENT)
                contents = [r.content for r in session.runs]
                assert contents == [
                    "Fake answer to: agno pg first",
                    "Fake answer to: agno pg second",
                    "Fake answer to: pg continue",
                ], contents

        server, base = start_seed(
            seed, "unused.db", work, "seed-pg-tools",
            DATABASE_URL=ours_url, AGNO_TOOLS="1", OPENAI_API_KEY="compat", OPENAI_BASE_URL=fake_base,
        )
        out = run(base, f"pg sum {TOOL_CALL}", session_id="pg-tools", user_id="ada")
        server.stop()

        @check("tools: agno's PostgresDb reads our run's tools and tool messages")
        def _():
            assert out["tools"][0]["tool_name"] == "add", out
            with AgnoLog():
                db = PostgresDb(db_url=ours_agno)
                session = db.get_session(session_id="pg-tools", session_type=SessionType.AGENT)
            run_out = session.runs[0]
            assert run_out.tools[0].tool_name == "add" and run_out.tools[0].result == "5", run_out.tools
            roles = [m.role for m in run_out.messages]
            assert roles[-3:] == ["assistant", "tool", "assistant"], roles
            assert run_out.messages[-2].tool_call_id == run_out.tools[0].tool_call_id, run_out.messages[-2]
    finally:
        drop_ours()
        drop_theirs()


JWT_SECRET = "compat-secret-of-at-least-32-bytes!"


def jwt_checks(seed, work, loop):
    import jwt
    from agno.client.os import AgentOSClient
    from agno.os.scopes import check_route_scopes, get_default_scope_mappings, has_required_scopes

    def token(sub, scopes):
        claims = {"sub": sub, "scopes": scopes, "exp": int(time.time()) + 600}
        return jwt.encode(claims, JWT_SECRET, algorithm="HS256")

    def bearer(sub, scopes):
        return {"Authorization": f"Bearer {token(sub, scopes)}"}

    server, base = start_seed(
        seed, os.path.join(work, "jwt.db"), work, "seed-jwt", AGNO_JWT_HS256_SECRET=JWT_SECRET, AGNO_JWT_ISOLATION="1"
    )
    client = AgentOSClient(base)
    everything = ["agents:read", "agents:run", "sessions:read", "sessions:write", "sessions:delete", "config:read"]
    ada, bob = bearer("ada", everything), bearer("bob", everything)

    @check("jwt: client run_agent with a bearer token runs as the token's user; naming another is a 403")
    def _():
        try:
            loop.run_until_complete(client.run_agent(AGENT, "as mallory", session_id="jwt-m", user_id="mallory", headers=ada))
        except Exception as error:  # the client raises on a 4xx
            assert "403" in str(error), error
        else:
            raise AssertionError("ada's token ran as mallory")
        out = loop.run_until_complete(client.run_agent(AGENT, "signed", session_id="jwt-ada", headers=ada))
        assert out.content == "Echo: signed", out.content
        session = loop.run_until_complete(client.get_session("jwt-ada", headers=ada))
        assert session.user_id == "ada", session.user_id

    @check("jwt: another user's client does not see the session (listed or by id)")
    def _():
        sessions = loop.run_until_complete(client.get_sessions(headers=bob))
        assert all(s.session_id != "jwt-ada" for s in sessions.data), sessions.data
        try:
            loop.run_until_complete(client.get_session("jwt-ada", headers=bob))
        except Exception as error:  # the client raises on a 4xx
            assert "404" in str(error), error
            return "404"
        raise AssertionError("bob read ada's session")

    @check("jwt: no token is Agno's 401, a wrong one too")
    def _():
        assert http_any("GET", f"{base}/agents") == (401, {"detail": "Authorization header missing"})
        status, body = http_any("GET", f"{base}/agents", {"Authorization": "Bearer a b"})
        assert (status, body) == (401, {"detail": "Invalid token: Not enough segments"}), (status, body)
        forged = jwt.encode({"sub": "ada", "scopes": ["agent_os:admin"]}, "another-secret-of-32-bytes-or-more", algorithm="HS256")
        status, body = http_any("GET", f"{base}/queue/jobs", {"Authorization": f"Bearer {forged}"})
        assert (status, body) == (401, {"detail": "Invalid token: Signature verification failed"}), (status, body)

    @check("jwt: Agno's RBAC (agno.os.scopes) and ours decide every route and scope set alike")
    def _():
        mappings = get_default_scope_mappings()
        admin = "agent_os:admin"
        routes = [
            ("GET", "/agents"), ("GET", f"/agents/{AGENT}"), ("POST", f"/agents/{AGENT}/runs"),
            ("GET", f"/agents/{AGENT}/runs/no-run"), ("POST", f"/agents/{AGENT}/runs/no-run/cancel"),
            ("GET", "/sessions"), ("GET", "/sessions/no-session"), ("GET", "/sessions/no-session/runs"),
            ("GET", "/sessions/no-session/runs/no-run"), ("POST", "/sessions/no-session/rename"),
            ("DELETE", "/sessions/no-session"), ("DELETE", "/sessions"), ("GET", "/config"),
            ("GET", "/queue/jobs"), ("GET", "/queue/stats"), ("POST", "/queue/jobs/no-job/requeue"),
        ]
        scope_sets = [
            [], ["agents:read"], ["agents:run"], [f"agents:{AGENT}:run"], ["agents:other:run"],
            [f"agents:{AGENT}:read"], ["agents:other:read"], ["agents:*:read"], ["agents:read", "agents:run"],
            ["sessions:read"], ["sessions:write"], ["sessions:delete"], ["sessions:*:read"], ["config:read"],
            ["system:read"], [admin], ["admin"], ["Agents:read"], ["agents:read:extra:part"],
        ]

        def agno_allows(method, path, scopes):
            if path.startswith("/queue/"):
                # routers/job_queue/router.py: the admin scope, always.
                return admin in scopes
            decision = check_route_scopes(scopes, mappings, method, path, admin_scope=admin)
            if not decision.allowed:
                return False
            if decision.accessible_resource_ids is not None and not decision.accessible_resource_ids:
                return False  # GET /agents answers 403 for an empty set (router.py)
            if method == "GET" and path.startswith(f"/agents/{AGENT}/runs/"):
                # The route's dependency wants `run` too (router.py:2233).
                return has_required_scopes(scopes, ["agents:run"], "agents", AGENT, admin_scope=admin)
            return True

        disagreements = []
        for method, path in routes:
            for scopes in scope_sets:
                status, body = http_any(method, f"{base}{path}", bearer("probe", scopes))
                ours = status != 403
                if ours != agno_allows(method, path, scopes):
                    disagreements.append(f"{method} {path} {scopes}: ours {status} {body}")
        assert not disagreements, disagreements
        return f"{len(routes) * len(scope_sets)} decisions"

    server.stop()


if __name__ == "__main__":
    try:
        ok = main(*sys.argv[1:4])
    finally:
        Process.kill_all()
    sys.exit(0 if ok else 1)
