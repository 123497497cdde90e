#!/usr/bin/env bash
# Paired throughput benchmark: two gateway configs measured at the same time, on the same CPU.
#
#   bash benchmarks/paired.sh metrics-off base                # what metrics (on by default) cost
#   bash benchmarks/paired.sh base ratelimit-redis            # the Redis rate limiter's cost
#   ROUNDS=7 DURATION=15 CONCURRENCY=16 bash benchmarks/paired.sh base policies
#   PYTHONPATH_A=/tmp/old/plugins/keeptrust_presidio/src bash benchmarks/paired.sh policies policies
#                                  # one config, two revisions of a package (see below)
#
# A and B name configs in benchmarks/configs (`base` is the harness's no-policy config, `policies` its
# policy-chain config). Both gateways run pinned to CPU_SERVER (0), each loaded by its own wrk at
# CONCURRENCY connections, both wrk runs and the fake upstream on CPU_LOAD (1). Sharing one CPU for
# the same seconds, each gateway gets the same share of it and the same interference from whatever
# else the machine is doing, so the ratio of their requests/s is the ratio of their throughputs on
# an idle CPU (each is CPU-bound), without the drift that sequential runs suffer on a busy machine.
# Each round swaps the ports and start order. Prints one line per round and the median ratio B/A.
#
# PYTHONPATH_A and PYTHONPATH_B set the PYTHONPATH of gateway A and B. Entries there come before the
# editable installs, so a source tree of another revision (`git worktree add /tmp/old HEAD~1`, then
# PYTHONPATH_A=/tmp/old/plugins/<package>/src) runs that revision's package in one gateway: a change
# measured against the code before it, paired, with one config.
#
# Needs: node (the harness's fake upstream), wrk, taskset, curl; ./scripts/bootstrap done; for
# ratelimit-redis a Redis on 127.0.0.1:6390 (scripts/test-services) or KEEPTRUST_BENCH_REDIS_URL.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
BENCH="${BENCH_DIR:-$ROOT/../shared/bench}"
A=${1:?usage: paired.sh A B (names of benchmarks/configs/*.yaml, or base, or policies)}
B=${2:?usage: paired.sh A B}
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-3}
CONCURRENCY=${CONCURRENCY:-16}
UPSTREAM_PORT=${UPSTREAM_PORT:-18180}
CPU_SERVER=${CPU_SERVER:-0}
CPU_LOAD=${CPU_LOAD:-1}
KT="$ROOT/.venv/bin/kt"
[ -f "$BENCH/fake_upstream.js" ] || { echo "benchmark harness not found at $BENCH (set BENCH_DIR)" >&2; exit 1; }
[ -x "$KT" ] || { echo "run ./scripts/bootstrap first" >&2; exit 1; }
for tool in node wrk taskset curl; do command -v $tool >/dev/null || { echo "$tool is not installed" >&2; exit 1; }; done
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
load() { # load URL OUT: wrk at CONCURRENCY for DURATION
  taskset -c "$CPU_LOAD" wrk -t1 -c"$CONCURRENCY" -d"${DURATION}s" --timeout 30s -s "$BENCH/post.lua" "$1" >"$2" 2>&1
}
rps() { grep -oE 'Requests/sec: *[0-9.]+' "$1" | grep -oE '[0-9.]+$'; }

start "$CPU_LOAD" "$WORK/upstream.log" node "$BENCH/fake_upstream.js" "$UPSTREAM_PORT"
ready "http://127.0.0.1:$UPSTREAM_PORT/v1/chat/completions" || { echo "fake upstream did not start" >&2; exit 1; }
CONFIG_A=$(config_of "$A")
CONFIG_B=$(config_of "$B")
echo "paired: A=$A B=$B, c=$CONCURRENCY, $ROUNDS rounds of ${DURATION}s, both on CPU $CPU_SERVER, $(date -u +%FT%TZ)"
ratios=()
for round in $(seq "$ROUNDS"); do
  # Alternate which config gets the first port and starts first.
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
  # Warm both up together, then measure both together.
  # (`wait` with the load's own PIDs: the servers are background jobs too.)
  loads=()
  for which in A B; do
    port=PORT_$which
    taskset -c "$CPU_LOAD" wrk -t1 -c"$CONCURRENCY" -d"${WARMUP}s" -s "$BENCH/post.lua" \
      "http://127.0.0.1:${!port}/v1/chat/completions" >/dev/null 2>&1 &
    loads+=($!)
  done
  wait "${loads[@]}"
  load "http://127.0.0.1:$PORT_A/v1/chat/completions" "$WORK/a.txt" &
  loads=($!)
  load "http://127.0.0.1:$PORT_B/v1/chat/completions" "$WORK/b.txt" &
  loads+=($!)
  wait "${loads[@]}"
  ra=$(rps "$WORK/a.txt")
  rb=$(rps "$WORK/b.txt")
  for which in A B; do
    pid=PID_$which
    kill -- "-${!pid}" 2>/dev/null || true
  done
  sleep 1
  ratio=$(python3 -c "print(f'{$rb / $ra:.3f}')")
  ratios+=("$ratio")
  errors=$(grep -hE 'Non-2xx|Socket errors' "$WORK/a.txt" "$WORK/b.txt" | tr -s ' ' | tr '\n' ' ' || true)
  echo "round $round: A $ra rps, B $rb rps, B/A $ratio ${errors:+($errors)}"
done
python3 -c "
import statistics, sys
r = sorted(float(x) for x in sys.argv[1:])
print(f'median B/A over {len(r)} rounds: {statistics.median(r):.3f} (min {r[0]:.3f}, max {r[-1]:.3f})')
" "${ratios[@]}"
