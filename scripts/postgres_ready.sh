#!/usr/bin/env bash
# Makes sure the PostgreSQL server the tests use answers: the one named by
# AGNO_TEST_POSTGRES_URL, else the local one on 127.0.0.1:5432 (trust auth),
# started with pg_ctlcluster when it is installed but stopped. Fails, saying
# how to get one, when none answers.
set -euo pipefail
URL="${AGNO_TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/postgres}"

answers() {
    if command -v pg_isready >/dev/null 2>&1; then
        pg_isready -q -d "$URL"
    else
        # No client tools: a TCP connect to the default port is the check.
        (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null
    fi
}

if answers; then
    echo "postgres answers at ${URL%%@*}@..."
    exit 0
fi
if [ -z "${AGNO_TEST_POSTGRES_URL:-}" ] && command -v pg_ctlcluster >/dev/null 2>&1; then
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    echo "postgres is stopped: starting cluster $version/main" >&2
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    for _ in $(seq 1 30); do
        answers && { echo "postgres started"; exit 0; }
        sleep 1
    done
fi
cat >&2 <<MSG
No PostgreSQL server answers at $URL.
The store's Postgres tests need one:
  - Debian/Ubuntu: apt-get install postgresql, then allow trust auth for 127.0.0.1
    (or set AGNO_TEST_POSTGRES_URL to a URL with a password);
  - Docker: docker run -d -e POSTGRES_HOST_AUTH_METHOD=trust -p 5432:5432 postgres:15;
  - or point AGNO_TEST_POSTGRES_URL at any server where the user may create schemas.
MSG
exit 1
