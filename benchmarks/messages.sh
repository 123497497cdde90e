#!/usr/bin/env bash
# /v1/messages (Anthropic Messages, translated to chat and back) against /v1/chat/completions on the
# same gateway, same target and same fake upstream, in interleaved rounds: the ratio is the cost of
# the translation. Uses the shared harness's fake upstream (node) and wrk script (a per-request
# counter in every text, so no two requests are alike).
#
#   bash benchmarks/messages.sh                          # 3 rounds x 10 s per endpoint, c=16
#   ROUNDS=2 DURATION=5 CONCURRENCY="1 16" bash benchmarks/messages.sh
#
# The gateway runs pinned to CPU 0, upstream and wrk to CPU 1. Everything listens on 127.0.0.1 and
# is stopped (by process group) when the script exits.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
BENCH="${BENCH_DIR:-$ROOT/../shared/bench}"
ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-10}"
CONCURRENCY="${CONCURRENCY:-16}"
UPSTREAM_PORT="${UPSTREAM_PORT:-18180}"
GATEWAY_PORT=$((UPSTREAM_PORT + 1))
[ -f "$BENCH/post.lua" ] || { echo "benchmark harness not found at $BENCH (set BENCH_DIR)" >&2; exit 1; }
[ -x "$ROOT/.venv/bin/kt" ] || { echo "run ./scripts/bootstrap first" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install -y wrk)" >&2; exit 1; }
command -v node >/dev/null || { echo "node is needed" >&2; exit 1; }

WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

sed "s#127\.0\.0\.1:18080#127.0.0.1:$UPSTREAM_PORT#" "$BENCH/keeptrust-bench.yaml" >"$WORK/config.yaml"
setsid taskset -c 1 node "$BENCH/fake_upstream.js" "$UPSTREAM_PORT" >"$WORK/upstream.log" 2>&1 &
PIDS+=($!)
BENCH_TOKEN=bench-token setsid taskset -c 0 "$ROOT/.venv/bin/kt" gateway run --listen "127.0.0.1:$GATEWAY_PORT" \
  --policy-config "$WORK/config.yaml" --log-level warning >"$WORK/gateway.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$GATEWAY_PORT/readyz" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fs "http://127.0.0.1:$GATEWAY_PORT/readyz" >/dev/null || { cat "$WORK/gateway.log"; exit 1; }

CHAT='{"model":"bench/model","messages":[{"role":"user","content":"Hello number {n}, how are you?"}],"max_tokens":16}'
MESSAGES='{"model":"bench/model","max_tokens":16,"messages":[{"role":"user","content":"Hello number {n}, how are you?"}]}'

run() { # run PATH BODY C -> requests/s
  BENCH_BODY="$2" taskset -c 1 wrk -t1 -c"$3" -d"${DURATION}s" --timeout 30s -s "$BENCH/post.lua" \
    "http://127.0.0.1:$GATEWAY_PORT$1" 2>&1 | python3 -c '
import json, sys
line = next(l for l in sys.stdin if l.startswith("WRKJSON "))
data = json.loads(line[8:])
rps = data["requests"] / data["duration_s"]
print("%.1f %.2f %d" % (rps, data["latency_ms"]["p50"], sum(data["errors"].values())))'
}

# Warm both paths up before measuring.
run /v1/chat/completions "$CHAT" 16 >/dev/null
run /v1/messages "$MESSAGES" 16 >/dev/null
echo "| c | round | chat rps | chat p50 ms | messages rps | messages p50 ms | messages / chat |"
echo "|---:|---:|---:|---:|---:|---:|---:|"
for c in $CONCURRENCY; do
  ratios=()
  for round in $(seq "$ROUNDS"); do
    read -r chat_rps chat_p50 chat_err < <(run /v1/chat/completions "$CHAT" "$c")
    read -r msg_rps msg_p50 msg_err < <(run /v1/messages "$MESSAGES" "$c")
    [ "$chat_err" = 0 ] && [ "$msg_err" = 0 ] || echo "errors: chat $chat_err, messages $msg_err" >&2
    ratio=$(python3 -c "print(f'{$msg_rps / $chat_rps:.3f}')")
    ratios+=("$ratio")
    echo "| $c | $round | $chat_rps | $chat_p50 | $msg_rps | $msg_p50 | $ratio |"
  done
  median=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}')
  echo "| $c | median of the rounds' ratios | | | | | **$median** |"
done
