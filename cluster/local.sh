#!/usr/bin/env bash
# A 2-node (or larger) Ray cluster on this machine, for tests and demos of cluster behaviour without a cloud.
#
#   cluster/local.sh start [STATE_DIR]   head on 127.0.0.2 + worker on 127.0.0.3 (WORKERS=2: worker2 on
#                                        127.0.0.4, ...); prints RAY_ADDRESS= and DASHBOARD= lines (GCS address
#                                        for --address, job server for `ray job`)
#   cluster/local.sh join NAME [STATE_DIR]  starts worker NAME (worker, worker2, ...) again after it died
#   cluster/local.sh stop  [STATE_DIR]   stops exactly the nodes this script started (by their pids)
#
# Each node has its own temp dir and free ports, so it never meets another Ray on the machine; both bind to
# loopback addresses only (127.0.0.1 is avoided: Ray rewrites it to the machine's address). Token auth is off unless RAY_AUTH_MODE is set (nothing outside this machine can connect).
# Env: RAY (the ray CLI, default: ray beside $PYTHON), PYTHON (default: python3), CPUS_PER_NODE (default: 1),
# WORKERS (worker nodes, default: 1), JOIN_TIMEOUT_S (how long a node may take to join, default: 60).
set -euo pipefail

cmd=${1:-start}
state=${2:-${TMPDIR:-/tmp}/lt-local-cluster}
python=${PYTHON:-python3}
ray=${RAY:-$(dirname "$(command -v "$python")")/ray}
cpus=${CPUS_PER_NODE:-1}
workers=${WORKERS:-1}
export PATH="$(cd "$(dirname "$(command -v "$python")")" && pwd):$PATH"  # `python` in job entrypoints is this one
export RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=1        # allow a multi-node cluster on one machine
export RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S=0    # stop promptly on SIGTERM
export RAY_AUTH_MODE=${RAY_AUTH_MODE:-disabled}
export RAY_USAGE_STATS_ENABLED=0

free_port() { "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

wait_for_nodes() {  # node just started, nodes expected: wait until the cluster has them (at most JOIN_TIMEOUT_S)
  local deadline=$((SECONDS + ${JOIN_TIMEOUT_S:-60})) alive
  while [ $SECONDS -lt $deadline ]; do
    if ! kill -0 "$(cat "$state/$1/pid")" 2>/dev/null; then
      echo "local.sh: the $1 node failed to start; see $state/$1/log" >&2
      return 1
    fi
    alive=$("$python" -c 'import sys, ray
ray.init(address=sys.argv[1], logging_level="ERROR", log_to_driver=False)
print(sum(n["Alive"] for n in ray.nodes()))' "$gcs" 2>/dev/null || true)
    [ "$alive" = "$2" ] && return 0
    sleep 0.5
  done
  echo "local.sh: the $1 node did not join within ${JOIN_TIMEOUT_S:-60} s; see $state/$1/log" >&2
  return 1
}

start_node() {  # name, node ip, extra ray-start flags...
  local name=$1 ip=$2; shift 2
  mkdir -p "$state/$name"
  "$ray" start --block --node-ip-address "$ip" --num-cpus "$cpus" --temp-dir "$state/$name/tmp" \
    --node-manager-port "$(free_port)" --object-manager-port "$(free_port)" \
    --runtime-env-agent-port "$(free_port)" --dashboard-agent-grpc-port "$(free_port)" \
    --dashboard-agent-listen-port "$(free_port)" --metrics-export-port "$(free_port)" \
    --min-worker-port 0 --max-worker-port 0 --disable-usage-stats "$@" >"$state/$name/log" 2>&1 &
  echo $! >"$state/$name/pid"
}

worker_name() { if [ "$1" = 1 ]; then echo worker; else echo "worker$1"; fi; }  # worker k -> its name

case $cmd in
  start)
    if [ -e "$state/head/pid" ]; then echo "local.sh: already started ($state); stop it first" >&2; exit 1; fi
    mkdir -p "$state"
    gcs="127.0.0.2:$(free_port)"
    dashboard="127.0.0.1:$(free_port)"
    start_node head 127.0.0.2 --head --port "${gcs#*:}" \
      --include-dashboard true --dashboard-host 127.0.0.1 --dashboard-port "${dashboard#*:}"
    wait_for_nodes head 1
    for k in $(seq "$workers"); do
      start_node "$(worker_name "$k")" "127.0.0.$((k + 2))" --address "$gcs"
      wait_for_nodes "$(worker_name "$k")" $((k + 1))
    done
    printf 'RAY_ADDRESS=%s\nDASHBOARD=http://%s\n' "$gcs" "$dashboard" | tee "$state/address"
    ;;
  join)
    name=${2:?usage: $0 join NAME [STATE_DIR]}
    state=${3:-${TMPDIR:-/tmp}/lt-local-cluster}
    k=${name#worker}; k=${k:-1}
    gcs=$(sed -n 's/^RAY_ADDRESS=//p' "$state/address")
    alive=$("$python" -c 'import sys, ray
ray.init(address=sys.argv[1], logging_level="ERROR", log_to_driver=False)
print(sum(n["Alive"] for n in ray.nodes()))' "$gcs" 2>/dev/null)
    rm -rf "${state:?}/$name/tmp"  # the dead node's sockets and session files
    start_node "$name" "127.0.0.$((k + 2))" --address "$gcs"
    wait_for_nodes "$name" $((alive + 1))
    ;;
  stop)
    for name in $(cd "$state" && ls -d worker* 2>/dev/null) head; do
      if [ -e "$state/$name/pid" ]; then
        pid=$(cat "$state/$name/pid")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
        rm -f "$state/$name/pid"
      fi
    done
    ;;
  *)
    echo "usage: $0 start|stop [STATE_DIR] | join NAME [STATE_DIR]" >&2
    exit 2
    ;;
esac
