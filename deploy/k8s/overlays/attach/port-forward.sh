#!/usr/bin/env bash
# Forward the name server and each agent's Pyro, HTTP and client ZeroMQ ports to 127.0.0.1: the
# addresses overlays/attach makes the agents advertise for the network "host". Ctrl-C stops all.
#   deploy/k8s/overlays/attach/port-forward.sh [NAMESPACE]      (default tradehive-dev)
set -euo pipefail
ns="${1:-tradehive-dev}"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT INT TERM
fwd() { kubectl -n "$ns" port-forward --address 127.0.0.1 "$@" & pids+=("$!"); }
fwd svc/nameserver 9090:9090
fwd pod/feeder-0 9201:9901 9101:9100
fwd pod/router-0 9202:9901 9102:9100 9620:5550 9621:5551
fwd pod/brain-regime-0 9203:9901 9103:9100 9630:5550 9631:5551
fwd pod/brain-trend-0 9204:9901 9104:9100 9640:5550 9641:5551
fwd pod/trader-0 9205:9901 9105:9100 9650:5550
wait
