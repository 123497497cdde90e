#!/usr/bin/env bash
# Run the shared benchmark harness (../shared/bench/run.sh) against this checkout's gateway: keeptrust
# beside LiteLLM, the bare trio/hypercorn proxy and the upstream itself, in one run.
#
#   bash benchmarks/run.sh                       # VARIANT=policies, all systems
#   VARIANT=audit SYSTEMS="keeptrust keeptrust-policies" bash benchmarks/run.sh
#
# The harness has two keeptrust systems. `keeptrust` always runs the no-policy config, so every run
# carries its own baseline; VARIANT picks what `keeptrust-policies` runs (configs/<variant>.yaml):
#   policies  the harness's own chain: prompt-injection, pii-detector (redact), audit-logger
#   audit     audit-logger only (jsonl sink, immutable hash chain, batch fsync)
#   guard     prompt-injection, safety-filter, content-filter
#   pii       pii-detector only
#   pii-fast  pii-detector only, profile fast (no NER)
#   router    keeptrust-hf's router path (per-backend route, Hub mapping cache hit); `keeptrust` then
#             runs the core's `openai` provider against the same upstream, for the ratio
#   ratelimit-redis  the rate-limiter with its counters in Redis (start one: scripts/test-services)
#   audit-durable  audit with durable_before_response: true
#   metrics-off  the baseline with server.metrics.enabled: false; keeptrust / keeptrust-policies is
#             what metrics (on by default) cost; BASE_VARIANT=metrics-off VARIANT=metrics-on swaps the order
#   tracing   keeptrust-otel tracing every request, exported over OTLP/HTTP to a discarding receiver;
#             `keeptrust` runs without the plugin loaded (needs keeptrust-otel installed in .venv)
# BASE_VARIANT=<variant> makes `keeptrust` run that variant instead of the no-policy config, e.g.
#   BASE_VARIANT=audit VARIANT=audit-durable SYSTEMS="keeptrust keeptrust-policies" bash benchmarks/run.sh
# Every other harness setting (RUNS, DURATION, CONCURRENCY, ...) passes through; see its README.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
BENCH="${BENCH_DIR:-$ROOT/../shared/bench}"
[ -f "$BENCH/run.sh" ] || { echo "benchmark harness not found at $BENCH (set BENCH_DIR)" >&2; exit 1; }
[ -x "$ROOT/.venv/bin/kt" ] || { echo "run ./scripts/bootstrap first" >&2; exit 1; }
export VARIANT="${VARIANT:-policies}"
[ -f "$HERE/configs/$VARIANT.yaml" ] || [ "$VARIANT" = policies ] || { echo "unknown VARIANT $VARIANT" >&2; exit 1; }
[ -z "${BASE_VARIANT:-}" ] || [ -f "$HERE/configs/$BASE_VARIANT.yaml" ] || { echo "unknown BASE_VARIANT $BASE_VARIANT" >&2; exit 1; }
export BASE_VARIANT="${BASE_VARIANT:-}"
# run.sh uses KT_BIN itself, hence the longer name.
export KEEPTRUST_KT="$ROOT/.venv/bin/kt" KT_BENCH_DIR="$HERE"
# run.sh expands PORT and CONFIG; the first word must be an installed command, so use bash.
export GATEWAY_CMD="bash $HERE/gateway.sh \$PORT \$CONFIG"
exec bash "$BENCH/run.sh"
