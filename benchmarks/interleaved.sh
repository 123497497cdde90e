#!/usr/bin/env bash
# Latency at concurrency 1 of two gateway configs, their requests interleaved one by one.
#
#   bash benchmarks/interleaved.sh base policies           # what the harness's policy chain adds at c=1
#   ROUNDS=5 DURATION=20 bash benchmarks/interleaved.sh base pii
#   PYTHONPATH_A=/tmp/old/plugins/keeptrust_presidio/src bash benchmarks/interleaved.sh policies policies
#                                  # one config, two revisions of a package (see below)
#
# A and B name configs as for paired.sh (`base`, `policies`, or benchmarks/configs/<name>.yaml). Both
# gateways run pinned to CPU_SERVER (0), the fake upstream and the client on CPU_LOAD (1). The client
# (interleaved_client.py) sends one request at a time, to A then B then A..., so both are measured at
# the same moments: on a shared machine whose speed changes by the minute, the difference of their
# p50 latencies holds where sequential runs of the harness drift by milliseconds. Each round restarts
# both gateways and swaps their ports and start order; the last line is the median over rounds of
# p50(B) - p50(A).
#
# PYTHONPATH_A and PYTHONPATH_B set the PYTHONPATH of gateway A and B. Entries there come before the
# editable installs, so a source tree of another revision (`git worktree add /tmp/old HEAD~1`, then
# PYTHONPATH_A=/tmp/old/plugins/<package>/src) runs that revision's package in one gateway: a change
# measured against the code before it, paired, with one config.
#
# Needs: node (the harness's fake upstream), taskset, curl, python3; ./scripts/bootstrap done.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
BENCH="${BENCH_DIR:-$ROOT/../shared/bench}"
A=${1:?usage: interleaved.sh A B (names of benchmarks/configs/*.yaml, or base, or policies)}
B=${2:?usage: interleaved.sh A B}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-20}
WARMUP=${WARMUP:-3}
UPSTREAM_PORT=${UPSTREAM_PORT:-18190}
CPU_SERVER=${CPU_SERVER:-0}
CPU_LOAD=${CPU_LOAD:-1}
KT="$ROOT/.venv/bin/kt"
[ -f "$BENCH/fake_upstream.js" ] || { echo "benchmark harness not found at $BENCH (set BENCH_DIR)" >&2; exit 1; }
[ -x "$KT" ] || { echo "run ./scripts/bootstrap first" >&2; exit 1; }
for tool in node taskset curl python3; do command -v $tool >/dev/null || { echo "$tool is not installed" >&2; exit 1; }; done
export STREAM_CHUNKS=20 STREAM_DELAY_MS=10 LATENCY_MS=0 BENCH_TOKEN=${BENCH_TOKEN:-bench-token}
DEFAULT_BODY='{"model":"bench/model","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Hi, I am John Smith (john.smith@example.com, +1 415 555 0100). Explain the attention mechanism in transformers in two sentences. Request {n}."}],"max_tokens":64,"temperature":0.2}'
export BENCH_BODY="${BENCH_BODY:-$DEFAULT_BODY}"
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -- "-$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

config_of() { # config_of NAME: the file, with the upstream port written in
  local src
  case $1 in
    base) src="$BENCH/keeptrust-bench.yaml" ;;
    policies) src="$BENCH/keeptrust-bench-policies.yaml" ;;
    *) src="$HERE/configs/$1.yaml" ;;
  esac
  [ -f "$src" ] || { echo "unknown config $1 ($src)" >&2; exit 1; }
  sed "s#127\.0\.0\.1:18080#127.0.0.1:$UPSTREAM_PORT#" "$src" >"$WORK/$1.yaml"
  echo "$WORK/$1.yaml"
}
start() { # start CPU LOG CMD...: own process group, so cleanup ends it and its children
  local cpu=$1 log=$2
  shift 2
  setsid taskset -c "$cpu" "$@" >>"$log" 2>&1 &
  STARTED=$!
  PIDS+=("$STARTED")
}
ready() { # ready URL
  for _ in $(seq 240); do
    if curl -sf -m 5 -X POST "$1" -H 'Content-Type: application/json' -H "Authorization: Bearer $BENCH_TOKEN" \
      -d "${BENCH_BODY//\{n\}/0}" 2>/dev/null | grep -q '"chat.completion"'; then return 0; fi
    sleep 0.5
  done
  return 1
}

start "$CPU_LOAD" "$WORK/upstream.log" node "$BENCH/fake_upstream.js" "$UPSTREAM_PORT"
ready "http://127.0.0.1:$UPSTREAM_PORT/v1/chat/completions" || { echo "fake upstream did not start" >&2; exit 1; }
CONFIG_A=$(config_of "$A")
CONFIG_B=$(config_of "$B")
echo "interleaved: A=$A B=$B, c=1, $ROUNDS rounds of ${DURATION}s, both on CPU $CPU_SERVER, $(date -u +%FT%TZ)"
diffs=()
for round in $(seq "$ROUNDS"); do
  if ((round % 2)); then first=A; else first=B; fi
  ports=()
  for which in $first $([ $first = A ] && echo B || echo A); do
    port=$((UPSTREAM_PORT + 1 + ${#ports[@]}))
    config=CONFIG_$which
    pythonpath=PYTHONPATH_$which
    start "$CPU_SERVER" "$WORK/gateway-$which.log" env PYTHONPATH="${!pythonpath:-}" "$KT" gateway run --listen "127.0.0.1:$port" \
      --policy-config "${!config}" --log-level warning
    eval "PID_$which=$STARTED PORT_$which=$port"
    ports+=("$port")
  done
  for which in A B; do
    port=PORT_$which
    ready "http://127.0.0.1:${!port}/v1/chat/completions" || { echo "gateway $which did not start:" >&2; tail "$WORK/gateway-$which.log" >&2; exit 1; }
  done
  taskset -c "$CPU_LOAD" python3 "$HERE/interleaved_client.py" "$WARMUP" "A=$PORT_A" "B=$PORT_B" >/dev/null
  out=$(taskset -c "$CPU_LOAD" python3 "$HERE/interleaved_client.py" "$DURATION" "A=$PORT_A" "B=$PORT_B")
  for which in A B; do
    pid=PID_$which
    kill -- "-${!pid}" 2>/dev/null || true
  done
  sleep 1
  echo "round $round: $(echo "$out" | tr '\n' ';' | sed 's/;$//; s/;/; /g')"
  diffs+=("$(echo "$out" | sed -n 's/^B: .*p50 - A \([-+0-9.]*\) ms$/\1/p')")
done
python3 -c "
import statistics, sys
d = sorted(float(x) for x in sys.argv[1:])
print(f'median p50(B) - p50(A) over {len(d)} rounds: {statistics.median(d):+.2f} ms (min {d[0]:+.2f}, max {d[-1]:+.2f})')
" "${diffs[@]}"
