#!/usr/bin/env sh
# Runs a local nats-server (with JetStream) in the foreground for manual runs and benchmarks.
# Tests never need this: they start their own servers on free ports (test/helpers/brokers/nats.ts).
# Usage: scripts/brokers/nats.sh [port]   (default 4222; store in a temporary directory)
set -eu
port="${1:-4222}"
if ! command -v nats-server >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update && apt-get install -y --no-install-recommends nats-server
  else
    echo "nats-server is not installed; run: sudo apt-get install -y --no-install-recommends nats-server" >&2
    exit 1
  fi
fi
store="$(mktemp -d "${TMPDIR:-/tmp}/streamgate-nats-XXXXXX")"
trap 'rm -rf "$store"' EXIT INT TERM
echo "nats://127.0.0.1:$port (JetStream store $store)"
nats-server -a 127.0.0.1 -p "$port" -js -sd "$store"
