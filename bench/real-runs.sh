#!/usr/bin/env bash
# The runs whose results are committed under bench/results and profiles/ (about 2 hours on
# 2 cores). Run from the repository root after `npm run build`. Each run exits non-zero when it
# FAILED (any missing delivery or error in any stack), so keep going.
set -u
cd "$(dirname "$0")/.."
run() { echo "== $* ($(date -Is), load $(cut -d' ' -f1-3 /proc/loadavg))"; npm run bench --silent -- "$@" >/dev/null; echo "exit $?"; }
run idle --clients 10000 --duration 60
run broadcast --clients 10000 --rate 1,10,100 --duration 10,5,2
run broadcast --clients 10000 --rate 1,10,100 --duration 10,5,2 --broker redis
run churn --clients 10000 --rate 500 --duration 20
run slow --clients 10000 --rate 100 --duration 2 --payload 1024
# 10k × 2 s leaves every slow client under the kernel's socket buffers: nothing to drop. Fewer
# clients for longer puts 2 MB behind each paused socket.
run slow --clients 1000 --rate 100 --duration 20 --payload 1024 --tag 1k-20s
# 2 MB per paused socket still fits in the kernel (tcp_wmem max 4 MB); 8 MB does not, so the
# stacks' own bounds (Streamgate's limits.max_backpressure, uWS maxBackpressure) come into play.
run slow --clients 1000 --rate 100 --duration 20 --payload 4096 --tag 1k-20s-4k
# The federated gateway holds 2 fds per client: 9,800 is the most that fits RLIMIT_NOFILE 20000.
run idle --clients 9800 --duration 60 --tag 9800-all-stacks
run broadcast --clients 9800 --rate 1,10 --duration 10,5 --stack streamgate,federated --tag 9800-federated
# Second session (2026-11-22 evening, re-run 20:29-20:48 on commit c471073): the runs the README quotes.
run idle --clients 10000 --duration 30 --stack streamgate,graphql-ws,uws-floor
run broadcast --clients 10000 --rate 1,10,100 --duration 10,5,2 --client raw --stack streamgate,graphql-ws,uws-floor,streamgate-auto
run broadcast --clients 10000 --rate 1,10,100 --duration 10,5,2 --client raw --broker kafka --stack streamgate,graphql-ws,uws-floor --repeat 1
run sharded --clients 10000 --topics 1000 --client raw --stack streamgate,graphql-ws,uws-floor,streamgate-auto --repeat 1 --tag 1k-topics
# Slow consumers sized so the one-core generator keeps up with the healthy 90%.
run slow --stack streamgate,graphql-ws,uws-floor --clients 10000 --rate 8 --duration 30 --payload 4096 --repeat 1 --tag 10k-4k
echo "== resolve"; node bench/resolve.mjs --clients 10000 --ops 1,100 >/dev/null; echo "exit $?"
echo "== autocannon"; node bench/autocannon-publish.mjs --duration 10 --connections 50 >/dev/null; echo "exit $?"
echo "== profiles"; node bench/profile.mjs --clients 10000; echo "exit $?"
