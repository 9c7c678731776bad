#!/usr/bin/env bash
# Agno's own Python client (AgentOSClient from the agno package, 3.1.10)
# against the seed example: every call must parse with Agno's models.
#
# usage: scripts/agno_client_check.sh   (makes a venv under the work dir)
source "$(dirname "$0")/lib.sh"
build_seed
WORK=$(mktemp -d)
python3 -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install -q "agno==3.1.10" httpx fastapi python-multipart sqlalchemy >&2
PORT=$(free_port)
start_seed "$PORT" "$WORK/agent.db" "$WORK/server.log"
"$WORK/venv/bin/python" "$ROOT/scripts/agno_client_check.py" "http://127.0.0.1:$PORT"
