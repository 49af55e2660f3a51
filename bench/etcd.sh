#!/usr/bin/env bash
# Side by side, in one run: a 3-member etcd 3.4 cluster (Debian's etcd-server) and a 3-node
# quorum Raft cluster, both on 127.0.0.1 with fsync on, under the same closed-loop load:
# 1 sequential client, then 16 concurrent clients, 100-byte values. etcd is driven through its
# JSON gateway (POST /v3/kv/put) on HTTP/1.1 keep-alive connections, at its leader, by
# `quorum bench-http-put`; quorum by `quorum bench raft`. Prints one Markdown table.
#
#   bench/etcd.sh                      # defaults below
#   SEQ_WRITES=3000 CONC_WRITES=20000 bench/etcd.sh
set -euo pipefail

SEQ_WRITES=${SEQ_WRITES:-2000}
CONC_WRITES=${CONC_WRITES:-10000}
VALUE_SIZE=${VALUE_SIZE:-100}
CLIENTS=${CLIENTS:-16}
ETCD_CLIENT_PORT=${ETCD_CLIENT_PORT:-23790}
ETCD_PEER_PORT=${ETCD_PEER_PORT:-23800}
QUORUM_PORT=${QUORUM_PORT:-23810}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
QUORUM=${QUORUM:-$ROOT/target/release/quorum}
if [ ! -x "$QUORUM" ]; then
  (cd "$ROOT" && cargo build --release)
fi
if ! command -v etcd >/dev/null; then
  echo "installing etcd-server (Debian's etcd 3.4)…" >&2
  if [ "$(id -u)" = 0 ]; then apt-get install -y etcd-server >&2; else sudo apt-get install -y etcd-server >&2; fi
fi

TMP=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

cluster=""
for i in 0 1 2; do
  cluster+="${cluster:+,}m$i=http://127.0.0.1:$((ETCD_PEER_PORT + i))"
done
for i in 0 1 2; do
  c="http://127.0.0.1:$((ETCD_CLIENT_PORT + i))"
  p="http://127.0.0.1:$((ETCD_PEER_PORT + i))"
  etcd --name "m$i" --data-dir "$TMP/m$i" \
    --listen-client-urls "$c" --advertise-client-urls "$c" \
    --listen-peer-urls "$p" --initial-advertise-peer-urls "$p" \
    --initial-cluster "$cluster" --initial-cluster-state new --initial-cluster-token quorum-bench \
    --logger zap --log-outputs "$TMP/m$i.log" &
  PIDS+=($!)
done

# The leader's client port: each member reports its own id and the leader's.
leader_port=""
for _ in $(seq 1 100); do
  for i in 0 1 2; do
    port=$((ETCD_CLIENT_PORT + i))
    status=$(curl -s -m 2 -X POST "http://127.0.0.1:$port/v3/maintenance/status" -d '{}' || true)
    if python3 -c 'import json,sys; s=json.loads(sys.argv[1]); sys.exit(0 if s.get("leader") and s["leader"]==s["header"]["member_id"] else 1)' "$status" 2>/dev/null; then
      leader_port=$port
    fi
  done
  [ -n "$leader_port" ] && break
  sleep 0.2
done
if [ -z "$leader_port" ]; then
  echo "etcd did not elect a leader; logs in $TMP" >&2
  tail -5 "$TMP"/m*.log >&2
  exit 1
fi
echo "etcd $(etcd --version | head -1 | awk '{print $3}') up, leader at 127.0.0.1:$leader_port" >&2

run() { # name, command…: prints the command's last line (its JSON result) to $TMP/name.json
  local name=$1
  shift
  echo "+ $*" >&2
  "$@" --json | tee /dev/stderr | tail -1 >"$TMP/$name.json"
}
run etcd-1 "$QUORUM" bench-http-put --addr "127.0.0.1:$leader_port" --clients 1 --writes "$SEQ_WRITES" --value-size "$VALUE_SIZE"
run etcd-n "$QUORUM" bench-http-put --addr "127.0.0.1:$leader_port" --clients "$CLIENTS" --writes "$CONC_WRITES" --value-size "$VALUE_SIZE"
run quorum-1 "$QUORUM" bench raft --base-port "$QUORUM_PORT" --clients 1 --writes "$SEQ_WRITES" --value-size "$VALUE_SIZE"
run quorum-n "$QUORUM" bench raft --base-port "$QUORUM_PORT" --clients "$CLIENTS" --writes "$CONC_WRITES" --value-size "$VALUE_SIZE"

python3 - "$TMP" "$CLIENTS" "$VALUE_SIZE" <<'PY'
import json, sys
tmp, clients, size = sys.argv[1], sys.argv[2], sys.argv[3]
r = {n: json.load(open(f"{tmp}/{n}.json")) for n in ["etcd-1", "etcd-n", "quorum-1", "quorum-n"]}
print(f"| load ({size}-byte values, 3 nodes, loopback, fsync) | system | writes | writes/s | p50 ms | p99 ms |")
print("|---|---|---|---|---|---|")
for load, k in [("1 sequential client", "1"), (f"{clients} concurrent clients", "n")]:
    for system in ["etcd 3.4.23", "quorum raft"]:
        x = r[("etcd-" if system.startswith("etcd") else "quorum-") + k]
        print(f"| {load} | {system} | {x['writes']} | {x['writes_per_s']:.0f} | {x['p50_ms']:.2f} | {x['p99_ms']:.2f} |")
    e, q = r["etcd-" + k], r["quorum-" + k]
    print(f"| {load} | quorum / etcd | | {q['writes_per_s'] / e['writes_per_s']:.2f}x | "
          f"{q['p50_ms'] / e['p50_ms']:.2f}x | {q['p99_ms'] / e['p99_ms']:.2f}x |")
PY
