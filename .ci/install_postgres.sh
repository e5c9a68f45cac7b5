#!/usr/bin/env bash
# The PostgreSQL tests start a throwaway server (initdb + pg_ctl, run as the unprivileged
# `postgres` user when the tests run as root): install Debian's package when it is missing.
set -euo pipefail
if command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql
else
    echo "PostgreSQL's server is not installed; the PostgreSQL tests will be skipped" \
         "(install it with: sudo apt-get install postgresql)" >&2
fi
