#!/bin/sh
# Runs the librdkafka mock cluster (a MOCK Kafka broker, see the Dockerfile) and makes it reachable
# at a fixed port. The mock listens on 127.0.0.1 at a port of its choosing and advertises that
# address in its metadata, so a client must share this container's network namespace (the
# compose file runs the router with network_mode: service:kafka); socat forwards the fixed
# bootstrap port (KAFKA_MOCK_PORT, default 9092, on KAFKA_MOCK_BIND, default all addresses) to it.
set -eu
PORT=${KAFKA_MOCK_PORT:-9092}
BIND=${KAFKA_MOCK_BIND:-0.0.0.0}
fifo=$(mktemp -u /tmp/kafka-mock.XXXXXX)
mkfifo "$fifo"
# mock_broker exits when its stdin closes (its test harness died); hold the pipe open for ever.
exec 3<>"$fifo"
trap 'kill 0 2>/dev/null; exit 0' TERM INT
mock_broker "$@" <&3 | while IFS= read -r line; do
  echo "kafka-mock: $line"
  case "$line" in
  "bootstrap "*)
    addr=${line#bootstrap }
    addr=${addr%%,*}
    echo "kafka-mock: MOCK Kafka broker (librdkafka mock cluster) at $addr, bootstrap $BIND:$PORT"
    socat "TCP-LISTEN:$PORT,bind=$BIND,fork,reuseaddr" "TCP:$addr" &
    ;;
  esac
done &
wait
