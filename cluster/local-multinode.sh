#!/usr/bin/env bash
# A multi-node Ray cluster on this one machine: one head raylet plus K worker raylets, each a
# `ray start --block` in its own session (setsid). `stop` ends exactly those sessions, never other
# people's Ray (`ray stop` would stop every Ray process on the machine).
#
#   cluster/local-multinode.sh start [--port 6380] [--head-cpus 2] [--workers 2] [--worker-cpus 2]
#                                    [--dashboard-port 8266] [--client-port PORT+1] [--object-store-mb 512]
#                                    [--no-auth]
#   cluster/local-multinode.sh status [--port 6380]
#   cluster/local-multinode.sh stop   [--port 6380]
#
# Then run studies on it (token authentication is on unless started with --no-auth; the token is
# ~/.ray/auth_token, created if missing):
#   RAY_AUTH_MODE=token dl-drawbacks run studies/quickstart.yaml --out runs/qs --address 127.0.0.1:6380
# State (one line per node: role, session id, log file) and logs live in
# ${DL_DRAWBACKS_CLUSTER_DIR:-/tmp/dl-drawbacks-ray-<uid>-<port>}; so does the nodes' shared Ray temp
# dir, so this cluster never becomes the one a bare `ray.init()` or `--address auto` finds
# (pass its address). Every node listens on 127.0.0.1 only, so Ray Train reports node_rank 0 on all.
set -Eeuo pipefail

usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }

COMMAND=${1:-}
[[ -n "$COMMAND" ]] || usage
shift
PORT=6380 HEAD_CPUS=2 WORKERS=2 WORKER_CPUS=2 DASHBOARD_PORT=8266 CLIENT_PORT= OBJECT_STORE_MB=512 AUTH=token
while [[ $# -gt 0 ]]; do
  case "$1" in
    --port) PORT=$2 ;;
    --head-cpus) HEAD_CPUS=$2 ;;
    --workers) WORKERS=$2 ;;
    --worker-cpus) WORKER_CPUS=$2 ;;
    --dashboard-port) DASHBOARD_PORT=$2 ;;
    --client-port) CLIENT_PORT=$2 ;;
    --object-store-mb) OBJECT_STORE_MB=$2 ;;
    --no-auth) AUTH=disabled; shift; continue ;;
    -h|--help) usage 0 ;;
    *) echo "local-multinode.sh: unknown option $1" >&2; usage ;;
  esac
  shift 2 || { echo "local-multinode.sh: $1 needs a value" >&2; exit 2; }
done
CLIENT_PORT=${CLIENT_PORT:-$((PORT + 1))}  # outside Ray's default worker ports 10002-19999
for value in "$PORT" "$HEAD_CPUS" "$WORKERS" "$WORKER_CPUS" "$DASHBOARD_PORT" "$CLIENT_PORT" "$OBJECT_STORE_MB"; do
  [[ "$value" =~ ^[0-9]+$ ]] || { echo "local-multinode.sh: '$value' is not a whole number" >&2; exit 2; }
done

STATE_DIR=${DL_DRAWBACKS_CLUSTER_DIR:-${TMPDIR:-/tmp}/dl-drawbacks-ray-$(id -u)-$PORT}
STATE=$STATE_DIR/nodes
ADDRESS=127.0.0.1:$PORT
OBJECT_STORE_BYTES=$((OBJECT_STORE_MB * 1024 * 1024))

# Every process of one of our sessions (the raylet, GCS, dashboard, workers... of one node).
session_pids() { ps -e -o pid=,sid= | awk -v sid="$1" '$2 == sid { print $1 }'; }

session_alive() { [[ -n "$(session_pids "$1")" ]]; }

# Start one node in a new session; append "role sid log" to the state file.
start_node() {
  local role=$1; shift
  local log=$STATE_DIR/$role.log
  setsid ray start --block --disable-usage-stats --node-ip-address 127.0.0.1 --dashboard-agent-listen-port 0 \
    --object-store-memory "$OBJECT_STORE_BYTES" "$@" > "$log" 2>&1 < /dev/null &
  local pid=$!
  sleep 0.2
  # setsid(1) does not fork when its caller is not a group leader, so pid == session id.
  local sid
  sid=$(ps -o sid= -p "$pid" | tr -d ' ' || true)
  [[ "$sid" == "$pid" ]] || { echo "local-multinode.sh: $role did not start its own session; see $log" >&2; return 1; }
  echo "$role $sid $log" >> "$STATE"
}

# Wait until `want` nodes are alive in the cluster; fail at once when a recorded node has died.
wait_for_nodes() {
  local want=$1 deadline=$((SECONDS + 120)) alive=0 role sid log
  while (( SECONDS < deadline )); do
    while read -r role sid log; do
      session_alive "$sid" || { echo "local-multinode.sh: $role exited; last lines of $log:" >&2; tail -5 "$log" >&2; return 1; }
    done < "$STATE"
    alive=$(timeout 60 python3 - "$ADDRESS" <<'EOF' 2>/dev/null || echo 0
import sys, ray
ray.init(address=sys.argv[1], logging_level="ERROR", log_to_driver=False)
print(sum(1 for node in ray.nodes() if node["Alive"]))
EOF
)
    (( alive >= want )) && { echo "Ray cluster at $ADDRESS: $alive nodes"; return 0; }
    sleep 2
  done
  echo "local-multinode.sh: only $alive of $want nodes joined after 120 s; logs in $STATE_DIR" >&2
  return 1
}

start() {
  if [[ -s "$STATE" ]]; then
    echo "local-multinode.sh: a cluster is already recorded in $STATE; run '$0 stop --port $PORT' first" >&2
    exit 1
  fi
  mkdir -p "$STATE_DIR"
  # Explicit auth mode on every node and client (Ray 2.60 otherwise follows ~/.ray/auth_token).
  export RAY_AUTH_MODE=$AUTH
  if [[ $AUTH == token && -z "${RAY_AUTH_TOKEN:-}" ]]; then ray get-auth-token --generate > /dev/null; fi
  : > "$STATE"
  trap 'echo "local-multinode.sh: start failed; stopping what was started" >&2; stop' ERR
  start_node head --head --port "$PORT" --num-cpus "$HEAD_CPUS" --num-gpus 0 --temp-dir "$STATE_DIR/ray" \
    --dashboard-port "$DASHBOARD_PORT" --ray-client-server-port "$CLIENT_PORT"
  wait_for_nodes 1
  # One at a time: raylets starting together on one machine can race for the same free ports.
  for i in $(seq 1 "$WORKERS"); do
    start_node "worker-$i" --address "$ADDRESS" --num-cpus "$WORKER_CPUS" --num-gpus 0
    wait_for_nodes $((i + 1))
  done
  trap - ERR
  [[ $AUTH == token ]] && echo "clients need RAY_AUTH_MODE=token (token in ~/.ray/auth_token)"
  echo "stop it with: $0 stop --port $PORT"
}

status() {
  [[ -s "$STATE" ]] || { echo "no cluster recorded in $STATE"; return 1; }
  while read -r role sid log; do
    if session_alive "$sid"; then echo "$role: running (session $sid, log $log)"; else echo "$role: gone"; fi
  done < "$STATE"
}

# A recorded session is ours when its leader is still our `ray start`, or, with the leader gone,
# when every process left in it is ours (a session id is not reused while any member lives).
ours() {
  local sid=$1 me
  me=$(id -un)
  if ps -p "$sid" > /dev/null 2>&1; then
    ps -o user=,args= -p "$sid" | grep -q "^$me .*ray start"
  else
    ! ps -e -o sid=,user= | awk -v sid="$sid" -v me="$me" '$1 == sid && $2 != me { found = 1 } END { exit !found }'
  fi
}

stop() {
  trap - ERR
  [[ -s "$STATE" ]] || { echo "no cluster recorded in $STATE"; return 0; }
  local sids=() sid
  # Workers first (reverse order), then the head.
  for sid in $(tac "$STATE" | awk '{ print $2 }'); do
    if ours "$sid"; then sids+=("$sid"); else echo "skipping session $sid: not this cluster's" >&2; fi
  done
  # SIGTERM to each session leader (`ray start --block`) drains its node and stops its processes.
  for sid in "${sids[@]}"; do
    kill -TERM "$sid" 2>/dev/null || true
  done
  local deadline=$((SECONDS + 45)) left=""
  for sid in "${sids[@]}"; do
    while session_alive "$sid" && (( SECONDS < deadline )); do sleep 0.5; done
  done
  # Whatever is still there (a leader killed earlier, a hung process) gets SIGKILL.
  for sid in "${sids[@]}"; do
    if session_alive "$sid"; then kill -KILL $(session_pids "$sid") 2>/dev/null || true; fi
  done
  sleep 1
  for sid in "${sids[@]}"; do
    if session_alive "$sid"; then left+=" $sid"; fi
  done
  rm -f "$STATE"
  if [[ -n "$left" ]]; then echo "local-multinode.sh: processes of session(s)$left are still exiting" >&2; fi
  echo "stopped the Ray cluster at $ADDRESS"
}

case "$COMMAND" in
  start) start ;;
  status) status ;;
  stop) stop ;;
  -h|--help) usage 0 ;;
  *) echo "local-multinode.sh: unknown command $COMMAND" >&2; usage ;;
esac
