#!/usr/bin/env bash
# Start keeptrust for the harness: gateway.sh PORT CONFIG. Swaps in the variant's config (with the
# harness's upstream port written in) for the `keeptrust-policies` system, and for VARIANT=router
# also for `keeptrust` (the openai-provider baseline) plus a fake Hub mapping API. BASE_VARIANT swaps
# configs/<BASE_VARIANT>.yaml in for `keeptrust`, to compare two variants in one run.
set -euo pipefail
PORT=$1
CONFIG=$2
upstream=$(grep -oE '127\.0\.0\.1:[0-9]+' "$CONFIG" | head -1)
render() { sed "s#127\.0\.0\.1:18080#$upstream#" "$KT_BENCH_DIR/configs/$1.yaml" >"$CONFIG.$1.yaml"; CONFIG="$CONFIG.$1.yaml"; }
case "$(basename "$CONFIG")" in
  keeptrust-bench-policies.yaml) [ "$VARIANT" = policies ] || render "$VARIANT" ;;
  keeptrust-bench.yaml)
    if [ -n "${BASE_VARIANT:-}" ]; then render "$BASE_VARIANT"; elif [ "$VARIANT" = router ]; then render openai-baseline; fi ;;
esac
if [ "$VARIANT" = router ]; then
  hub_port=$((${upstream##*:} + 20))
  "$(dirname "$KEEPTRUST_KT")/python" -m keeptrust_hf.testing.hub_server --listen "127.0.0.1:$hub_port" \
    --map "bench/model=groq:bench/model:conversational" &
  export KEEPTRUST_HF_HUB_URL="http://127.0.0.1:$hub_port" KEEPTRUST_HF_ROUTER_URL="http://$upstream"
  export BENCH_HF_TOKEN="hf_benchbenchbenchbenchbenchbenchbench"
fi
if [ "$VARIANT" = tracing ]; then
  if [ "$(basename "$CONFIG")" = keeptrust-bench-policies.yaml.tracing.yaml ]; then
    # A collector that decodes and drops what it gets, so export costs what it costs in production.
    otlp_port=$((${upstream##*:} + 21))
    "$(dirname "$KEEPTRUST_KT")/python" -m keeptrust_otel.testing --listen "127.0.0.1:$otlp_port" --discard &
    export OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$otlp_port"
  else
    export KEEPTRUST_DISABLE_PLUGINS=otel
  fi
fi
exec "$KEEPTRUST_KT" gateway run --listen "127.0.0.1:$PORT" --policy-config "$CONFIG" --log-level warning
