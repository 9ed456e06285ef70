#!/usr/bin/env bash
# The whole test suite: every test on SQLite, the OpenAPI conformance run (schemathesis against a server this script
# starts), then the integration tests again against a real PostgreSQL server that this script starts on loopback
# (and stops, whatever happens). On a fresh machine it first installs what the tests need and the machine lacks:
# PostgreSQL's server (Debian's package, with apt-get as root), the tansu Kafka-protocol broker (cargo install, about
# 15 minutes once; each Kafka test starts its own broker), schemathesis, the zeep SOAP client and the aiosmtpd SMTP
# server that the notification tests start (pip), and openssl, with which the TLS mail test makes its certificates.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || ! command -v openssl >/dev/null 2>&1; then
    echo "== installing PostgreSQL's server and openssl"
    sudo=()
    [ "$(id -u)" = 0 ] || sudo=(sudo)
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -q
    "${sudo[@]}" apt-get install -y -q postgresql openssl
fi

export PATH="$HOME/.cargo/bin:$PATH"
if ! command -v tansu >/dev/null 2>&1; then
    echo "== installing the tansu broker (once)"
    cargo install tansu --locked --features dynostore,libsql
fi

if ! python3 -c "import schemathesis, zeep, aiosmtpd" >/dev/null 2>&1; then
    echo "== installing schemathesis, zeep and the aiosmtpd SMTP server"
    python3 -m pip install --quiet "schemathesis==4.32.5" "hypothesis==6.170.17" "zeep==4.3.1" "aiosmtpd==1.4.6"
fi

echo "== tests on SQLite"
cargo test --workspace

echo "== conformance: a SOAP client on the Enactor WSDL, then schemathesis with every check on /openapi.json"
# The binary the integration tests ran (built with the workspace's test features: a plain `cargo build` would build
# every dependency a second time).
bash scripts/conformance.sh target/debug/tally

pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$pg_bin" ] || [ ! -x "$pg_bin/initdb" ]; then
    echo "PostgreSQL server binaries not found under /usr/lib/postgresql: apt-get install postgresql" >&2
    exit 1
fi

work=$(mktemp -d /tmp/tally-pg.XXXXXX)
port=$(( 20000 + RANDOM % 20000 ))
as_pg=()
if [ "$(id -u)" = 0 ]; then
    # PostgreSQL refuses to run as root: run it as the postgres user (created by the Debian package).
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    chown postgres "$work"
    as_pg=(runuser -u postgres --)
fi
stop_pg() {
    "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap stop_pg EXIT

"${as_pg[@]}" "$pg_bin/initdb" -D "$work/data" -U tally --auth=trust -E UTF8 >/dev/null
"${as_pg[@]}" "$pg_bin/pg_ctl" -D "$work/data" -l "$work/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $work -c max_connections=300 -c fsync=on" start >/dev/null

echo "== integration tests on PostgreSQL (127.0.0.1:$port)"
# The multi-instance tests are ignored on SQLite (they need a shared server) and run here.
TALLY_TEST_DATABASE_URL="postgres://tally@127.0.0.1:$port/postgres" cargo test --workspace --test '*' -- --include-ignored
