#!/usr/bin/env bash
# The PostgreSQL server the tests use: KEYWARDEN_TEST_PG (default the machine's own at
# 127.0.0.1:5432, user postgres, trust auth). Tests create and drop databases of their own
# (kw_test_*) there and touch nothing else. Starts the machine's cluster if it is installed
# but stopped; fails, saying so, if there is no server to reach.
set -euo pipefail

url="${KEYWARDEN_TEST_PG:-postgres://postgres@127.0.0.1:5432/postgres}"
ready() { pg_isready -q -d "${url%%\?*}" 2>/dev/null; }

if ready; then
    exit 0
fi
if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    for version in /etc/postgresql/*; do
        pg_ctlcluster --skip-systemctl-redirect "$(basename "$version")" main start || true
    done
    for _ in $(seq 1 30); do
        ready && exit 0
        sleep 1
    done
fi
echo "ensure-postgres: no PostgreSQL server at $url (set KEYWARDEN_TEST_PG to one where user postgres may create databases)" >&2
exit 1
