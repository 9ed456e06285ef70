#!/usr/bin/env bash
# The core benchmark with the Kafka relay on: starts a tansu broker (in-memory storage) on a loopback port, runs
# `tally bench` against it (commands with the relay publishing, then the relay's rate on a 1,000,000-event ledger),
# and stops the broker. Extra arguments go to `tally bench` (e.g. --seconds 20 --rebuild-events 200000).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
command -v tansu >/dev/null || { echo "needs tansu: cargo install tansu --locked --features dynostore,libsql" >&2; exit 1; }

port=$(( 20000 + RANDOM % 20000 ))
tansu broker --listener-url "tcp://127.0.0.1:$port" --advertised-listener-url "tcp://127.0.0.1:$port" \
    --storage-engine memory://tansu/ >/dev/null 2>&1 &
broker=$!
trap 'kill $broker 2>/dev/null || true' EXIT
cargo build --release -q
RUST_LOG=warn target/release/tally --kafka-brokers "127.0.0.1:$port" bench "$@"
