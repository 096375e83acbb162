#!/usr/bin/env bash
# A PostgreSQL for the tests of `localrun serve --db`: prints the URL of an empty database
# `localrun_test` (scripts/test.sh exports it as LOCALRUN_TEST_PG), or fails saying why.
# As root (CI: Debian's postgresql package installed, no cluster running): starts the packaged
# cluster with pg_ctlcluster when it is down, and makes a role with a fresh random password.
# Otherwise: a cluster of our own made with initdb in $TMPDIR, listening on 127.0.0.1 only.
# Either cluster is left running for the next run; the database is made afresh each time.
set -euo pipefail
export PGOPTIONS="-c client_min_messages=warning"  # no NOTICE of a database that was not there
DB=localrun_test
ROLE=localrun_test
say() { echo "scripts/test-postgres.sh: $*" >&2; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

if [ "$(id -u)" = 0 ] && command -v pg_lsclusters >/dev/null 2>&1; then
    read -r version name port status _ < <(pg_lsclusters --no-header | sort -k1,1nr | head -n 1) || {
        say "pg_lsclusters lists no cluster"
        exit 1
    }
    if [ "$status" != online ]; then
        pg_ctlcluster "$version" "$name" start >&2
    fi
    password=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
    runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 -p "$port" -d postgres >/dev/null <<SQL
SELECT 'CREATE ROLE $ROLE LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$ROLE')\gexec
ALTER ROLE $ROLE LOGIN PASSWORD '$password';
DROP DATABASE IF EXISTS $DB WITH (FORCE);
CREATE DATABASE $DB OWNER $ROLE;
SQL
    echo "postgresql://$ROLE:$password@127.0.0.1:$port/$DB"
    exit 0
fi

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$bin" ] && command -v initdb >/dev/null 2>&1; then
    bin=$(dirname "$(command -v initdb)")
fi
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    say "no PostgreSQL installed (no initdb found)"
    exit 1
fi
if [ "$(id -u)" = 0 ]; then
    say "initdb does not run as root, and there is no pg_lsclusters to start a packaged cluster"
    exit 1
fi
dir="${TMPDIR:-/tmp}/localrun-test-pg.$(id -u)"
if [ ! -f "$dir/data/PG_VERSION" ]; then
    rm -rf "$dir"
    mkdir -p "$dir"
    "$bin/initdb" -D "$dir/data" -U "$ROLE" --auth=trust -E UTF8 >"$dir/initdb.log" 2>&1 || {
        say "initdb failed: $(tail -n 3 "$dir/initdb.log")"
        exit 1
    }
fi
if ! "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    port=$(free_port)
    "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir" start >/dev/null || {
        say "pg_ctl could not start the cluster in $dir: $(tail -n 3 "$dir/server.log")"
        exit 1
    }
    echo "$port" >"$dir/port"
fi
port=$(cat "$dir/port")
"$bin/psql" -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U "$ROLE" -d postgres >/dev/null <<SQL
DROP DATABASE IF EXISTS $DB WITH (FORCE);
CREATE DATABASE $DB;
SQL
echo "postgresql://$ROLE@127.0.0.1:$port/$DB"
