#!/usr/bin/env python3
"""Agno's own Python client (agno.client.AgentOSClient, agno 3.1.10)
against our server: every call must parse with Agno's pydantic models.

usage: scripts/agno_client_check.sh   (makes a venv with agno, starts the
seed example, runs this file against it)
"""
import asyncio
import sys
import traceback

from agno.client.os import AgentOSClient

AGENT = "background-task-agent"


async def main(base_url):
    client = AgentOSClient(base_url)
    results = []

    async def check(name, call):
        try:
            value = await call() if asyncio.iscoroutinefunction(call) or asyncio.iscoroutine(call) else call()
            if asyncio.iscoroutine(value):
                value = await value
            results.append((name, True, type(value).__name__))
            return value
        except Exception as error:  # noqa: BLE001 - we report every failure
            results.append((name, False, f"{type(error).__name__}: {error}"[:300]))
            traceback.print_exc(file=sys.stderr)
            return None

    await check("get_config", lambda: client.aget_config())
    await check("list_agents", lambda: client.list_agents())
    await check("get_agent", lambda: client.aget_agent(AGENT))
    run = await check("run_agent", lambda: client.run_agent(AGENT, "Hello, how are you?", session_id="client-1", user_id="ada"))

    async def stream():
        events = [e async for e in client.run_agent_stream(AGENT, "And again", session_id="client-1")]
        names = [type(e).__name__ for e in events]
        assert names and names[-1] == "RunCompletedEvent", names
        return names

    await check("run_agent_stream", stream)
    await check("get_sessions", lambda: client.get_sessions())
    await check("get_session", lambda: client.get_session("client-1"))
    await check("get_session_runs", lambda: client.get_session_runs("client-1"))
    if run is not None:
        await check("get_session_run", lambda: client.get_session_run("client-1", run.run_id))
    width = max(len(n) for n, _, _ in results)
    for name, ok, detail in results:
        print(f"{name:<{width}}  {'ok ' if ok else 'FAIL'}  {detail}")
    return all(ok for _, ok, _ in results)


if __name__ == "__main__":
    sys.exit(0 if asyncio.run(main(sys.argv[1])) else 1)
