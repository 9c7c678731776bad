# bench/vs_agno.sh's reference: the seed (background_hooks_decorator.py)
# with one tool, `add`, as Agno declares tools (`@tool`). Everything else
# is the seed's code verbatim.
import asyncio

from agno.tools import tool
from agno.agent import Agent
from agno.db.sqlite import SqliteDb
from agno.hooks import hook
from agno.models.openai import OpenAIResponses
from agno.os import AgentOS
from agno.run.agent import RunInput


@hook(run_in_background=True)
def log_request(run_input: RunInput, agent):
    """
    This pre-hook runs in the background.
    Note: Pre-hooks in background mode cannot modify run_input.
    """
    print(f"[Background Pre-Hook] Request received for agent: {agent.name}")
    print(f"[Background Pre-Hook] Input: {run_input.input_content}")


async def log_analytics(run_output, agent, session):
    """
    This post-hook runs synchronously (no decorator).
    It will block the response until complete.
    """
    print(f"[Sync Post-Hook] Logging analytics for run: {run_output.run_id}")
    print(f"[Sync Post-Hook] Agent: {agent.name}")
    print(f"[Sync Post-Hook] Session: {session.session_id}")
    print("[Sync Post-Hook] Analytics logged successfully!")


@hook(run_in_background=True)
async def send_notification(run_output, agent):
    """
    This post-hook runs in the background (has decorator).
    It won't block the API response.
    """
    print(f"[Background Post-Hook] Sending notification for agent: {agent.name}")
    await asyncio.sleep(3)
    print("[Background Post-Hook] Notification sent!")


@tool
def add(a: int, b: int) -> int:
    """Adds two numbers.

    Args:
        a: The first number.
        b: The second number.
    """
    return a + b


# Create an agent with mixed hooks
agent = Agent(
    id="background-task-agent",
    name="BackgroundTaskAgent",
    model=OpenAIResponses(id="gpt-5.2"),
    instructions="You are a helpful assistant",
    db=SqliteDb(db_file="tmp/agent.db"),
    pre_hooks=[log_request],  # Runs in background
    post_hooks=[log_analytics, send_notification],  # log_analytics is sync, send_notification is background
    markdown=True,
    tools=[add],
)

# Create AgentOS (run_hooks_in_background is False by default)
agent_os = AgentOS(
    agents=[agent],
)

# Get the FastAPI app
app = agent_os.get_app()

if __name__ == "__main__":
    agent_os.serve(app="tool_agent:app", port=7777, reload=True)

