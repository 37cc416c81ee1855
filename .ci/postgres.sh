#!/usr/bin/env bash
# Debian's PostgreSQL server and client for the tests that run the SQL and shell the operator
# renders against a real server (tests/support/postgres.py starts throwaway clusters; nothing is
# left running). Idempotent; seconds when already installed.
set -euo pipefail
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  SUDO=; ((EUID == 0)) || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    postgresql postgresql-client
  # The package starts a cluster of its own; the tests start theirs.
  $SUDO service postgresql stop >/dev/null 2>&1 || true
fi
ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1
