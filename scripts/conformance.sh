#!/usr/bin/env bash
# The conformance runs: starts Tally on a fresh SQLite database on loopback; a standard SOAP client (zeep) loads the
# Enactor WSDL and calls every operation on the demo data; then schemathesis runs every check (coverage, fuzzing and
# stateful phases, as the demo administrator, and as its staff member for Footprints) against the /openapi.json the
# server serves. Fails on any finding.
# Usage: scripts/conformance.sh [path to the tally binary]  (default: target/debug/tally)
set -euo pipefail
cd "$(dirname "$0")/.."

tally=${1:-target/debug/tally}
work=$(mktemp -d /tmp/tally-conformance.XXXXXX)
port=$(( 20000 + RANDOM % 20000 ))
"$tally" --database-url "sqlite://$work/tally.db" serve --listen "127.0.0.1:$port" >"$work/server.log" 2>&1 &
server=$!
stop() {
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    rm -rf "$work"
}
trap stop EXIT

for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    sleep 0.2
done

# Footprints' operations take a bearer token: the demo staff member's.
FOOTPRINTS_TOKEN=$(curl -fs -u demo-admin:demo-admin-secret \
    -d 'grant_type=password&username=demo-hostess&password=demo-hostess-secret' \
    "http://127.0.0.1:$port/api/token" | python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')
export FOOTPRINTS_TOKEN

status=0
python3 scripts/soap_client_test.py "http://127.0.0.1:$port" || status=$?
python3 scripts/schemathesis_cli.py --config-file scripts/schemathesis.toml run \
    "http://127.0.0.1:$port/openapi.json" \
    --checks all \
    --phases coverage,fuzzing,stateful --max-examples "${CONFORMANCE_EXAMPLES:-50}" --workers 2 \
    --generation-database none --no-color || status=$?
if grep -q "panicked" "$work/server.log"; then
    echo "the server panicked during the conformance run:" >&2
    grep -A5 "panicked" "$work/server.log" >&2
    status=1
fi
exit "$status"
