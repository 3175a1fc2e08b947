#!/usr/bin/env bash
# gateway.sh - the gateway against nginx and haproxy as reverse proxies of the same nginx backend
# (1 KiB body on 127.0.0.1:18080), measured in interleaved wrk rounds by the proxy harness
# (bench/gateway-harness/proxy-bench.sh, a copy of the shared reference harness), plus an HTTP/2 (h2c)
# h2load run through the gateway. Two gateway processes are measured in the same rounds: `gateway` on
# 127.0.0.1:18083 with the fast path on (the default), `gateway-vertx` on 18084 with
# mesh.gateway.listeners.fast-path=false (every request through Vert.x's HttpServer/HttpClient).
# Writes bench/results/gateway.md; its last lines are
#   gateway-vertx rps_ratio=<gateway-vertx/nginx> p99_ratio=<..> cpu_per_req_ratio=<r> rss_mb=<n>
#   gateway rps_ratio=<gateway/nginx> p99_ratio=<gateway/nginx> cpu_per_req_ratio=<r> rss_mb=<n>
#
#   bench/gateway.sh            (env: ROUNDS=3 DURATION=10s CONNS=64 EVENT_LOOPS=1 GATEWAY_WARMUP=10 WARMUP_PASSES=3 JAVA_OPTS=... and the harness's)
#
# The gateway runs as the packaged Quarkus app (built here if missing) on a static bootstrap (no pilot):
# listener -> cluster 127.0.0.1:18080, access log off, one event loop like nginx's one worker. The route carries Istio's
# default retry policy, as pilot serves every route without a VirtualService retries block (nginx retries connect errors
# by default too: proxy_next_upstream error timeout).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd); ROOT=$(dirname "$HERE")
APP=$ROOT/gateway/target/quarkus-app/quarkus-run.jar
[[ -f $APP ]] || (cd "$ROOT" && ./mvnw -B -q -pl gateway package -DskipTests)
WORK=$(mktemp -d -t gateway-bench.XXXXXX)
EVENT_LOOPS=${EVENT_LOOPS:-1}
# The Netty flags are the gateway's production settings (deploy/kubernetes/ingressgateway.yaml, deploy/local/mesh.env,
# gateway/README.md): no ByteBuf access/bounds checks and no leak sampling on the data path; tests run with Netty's defaults.
# JAVA_HOME picks the JDK that runs the gateways (default: java on the PATH).
JAVA=$(command -v "${JAVA_HOME:+$JAVA_HOME/bin/}java")
JAVA_OPTS=${JAVA_OPTS:--Xms64m -Xmx64m -XX:+UseParallelGC -XX:ParallelGCThreads=1 -XX:ReservedCodeCacheSize=48m -XX:MaxMetaspaceSize=96m -Xss512k -Dio.netty.buffer.checkAccessible=false -Dio.netty.buffer.checkBounds=false -Dio.netty.leakDetection.level=disabled}
cat > "$WORK/bootstrap.json" <<'JSON'
{ "static_resources": {
  "listeners": [{ "name": "bench", "address": { "socket_address": { "address": "127.0.0.1", "port_value": @PORT@ } },
    "filter_chains": [{ "filters": [{ "name": "envoy.filters.network.http_connection_manager",
      "typed_config": { "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": "bench",
        "route_config": { "name": "bench", "virtual_hosts": [{ "name": "all", "domains": ["*"],
          "routes": [{ "match": { "prefix": "/" }, "route": { "cluster": "backend", "retry_policy": {
            "retry_on": "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes", "num_retries": 2,
            "retriable_status_codes": [503], "host_selection_retry_max_attempts": 5, "retry_host_predicate": [{
              "name": "envoy.retry_host_predicates.previous_hosts", "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate" } }] } } }] }] },
        "http_filters": [{ "name": "envoy.filters.http.router",
          "typed_config": { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" } }] } }] }] }],
  "clusters": [{ "name": "backend", "type": "STATIC", "connect_timeout": "1s",
    "load_assignment": { "cluster_name": "backend", "endpoints": [{ "lb_endpoints": [
      { "endpoint": { "address": { "socket_address": { "address": "127.0.0.1", "port_value": 18080 } } } }] }] } }] } }
JSON
# One gateway process per variant: NAME PORT FAST_PATH.
start_gateway() {
  sed "s/@PORT@/$2/" "$WORK/bootstrap.json" > "$WORK/bootstrap-$1.json"
  # shellcheck disable=SC2086
  MESH_GATEWAY_BOOTSTRAP_FILE=$WORK/bootstrap-$1.json MESH_GATEWAY_XDS_ENABLED=false MESH_GATEWAY_TELEMETRY_ACCESS_LOG=false \
  MESH_GATEWAY_LISTENERS_FAST_PATH=$3 \
  MESH_GATEWAY_LISTENERS_EVENT_LOOPS=$EVENT_LOOPS MESH_GATEWAY_MONITORING_PORT=0 MESH_GATEWAY_STATUS_PORT=0 \
  MESH_GATEWAY_ADMIN_PORT=-1 QUARKUS_HTTP_HOST=127.0.0.1 QUARKUS_HTTP_PORT=0 \
    "$JAVA" $JAVA_OPTS -jar "$APP" > "$WORK/$1.log" 2>&1 &
}
start_gateway gateway 18083 true; GW=$!
start_gateway gateway-vertx 18084 false; GWV=$!
trap 'kill -TERM $GW $GWV 2>/dev/null || true; wait $GW $GWV 2>/dev/null || true' EXIT
for g in gateway gateway-vertx; do
  for _ in $(seq 100); do grep -q "gateway ready" "$WORK/$g.log" && break; sleep 0.2; done
  grep -q "gateway ready" "$WORK/$g.log" || { cat "$WORK/$g.log"; echo "$g did not start" >&2; exit 1; }
done
grep -o "native transport [a-z]*" "$WORK/gateway.log" | head -1
# The harness's backend on 127.0.0.1:18080, for the runs outside the harness's rounds (JIT warm-up, h2load).
backend_up() {
  mkdir -p "$WORK/$1/backend-tmp"; sed "s#@RUN@#$WORK/$1#g" "$HERE/gateway-harness/conf/backend.conf" > "$WORK/$1/backend.conf"
  nginx -p "$WORK/$1" -e "$WORK/$1/error.log" -c "$WORK/$1/backend.conf" -g 'daemon off;' & BACKEND=$!
  for _ in $(seq 50); do curl -s -o /dev/null http://127.0.0.1:18080/ && break; sleep 0.1; done
}
backend_down() { kill "$BACKEND"; wait "$BACKEND" 2>/dev/null || true; }
# JIT warm-up: the JVM compiles its hot paths during the first tens of seconds under load (C2 was still compiling
# 15-20 s in, 5-8 % of the gateway's CPU; bench/results/gateway-notes.md), which the harness's 3 s warm-up leaves
# inside round 1. The rounds measure the steady state a long-running gateway is in; nginx needs no warm-up.
# WARMUP_PASSES passes of GATEWAY_WARMUP seconds, the two gateways in turn, so that each one also goes idle and takes
# new connections as in the rounds: after one 20 s pass C2 still took ~4 % of the gateway's CPU in the first round
# (recompiling what the idle gap and the new connections deoptimized), after three 10 s passes ~1 %.
GATEWAY_WARMUP=${GATEWAY_WARMUP:-10}; WARMUP_PASSES=${WARMUP_PASSES:-3}
if [[ $GATEWAY_WARMUP != 0 ]]; then
  backend_up warmup
  for ((pass = 0; pass < WARMUP_PASSES; pass++)); do
    for port in 18083 18084; do wrk -t1 -c"${CONNS:-64}" -d"${GATEWAY_WARMUP}s" "http://127.0.0.1:$port/" > /dev/null; done
  done
  backend_down
fi

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
RESULTS=$WORK/results BENCH_DIR=$WORK/harness bash "$HERE/gateway-harness/proxy-bench.sh" gateway=http://127.0.0.1:18083/ gateway-vertx=http://127.0.0.1:18084/ | tee "$WORK/bench.out"
SUMMARY=$WORK/results/summary.txt
RSS=$(awk '/VmRSS/{printf "%.0f", $2/1024}' "/proc/$GW/status")
RSSV=$(awk '/VmRSS/{printf "%.0f", $2/1024}' "/proc/$GWV/status")
# The harness has stopped its servers; the h2load run needs the backend again.
backend_up h2
H2=$(h2load -c "${CONNS:-64}" -m 10 -D 10 http://127.0.0.1:18083/ 2>&1 | grep -E "^finished in|^requests:|^status codes:" | tr '\n' ' ')
backend_down
# Ratios per round (gateway over nginx of the same round, as the harness's ratio column), then the median
# over rounds: interleaving cancels part of the noise from other processes, medians of absolutes do not.
summary() {   # NAME RSS
  awk -v g="$1" -v rss="$2" 'NR > 1 { rps[$1, $2] = $3; p99[$1, $2] = $5; cpu[$1, $2] = $7; r[$1] = 1 }
  function med(a, n,   i, j, t) { for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
  END { n = 0; for (k in r) { if (rps[k, "nginx"] > 0 && rps[k, g] > 0) { n++; a[n] = rps[k, g] / rps[k, "nginx"];
      b[n] = p99[k, g] / p99[k, "nginx"]; c[n] = cpu[k, g] / cpu[k, "nginx"] } }
    printf "%s rps_ratio=%.2f p99_ratio=%.2f cpu_per_req_ratio=%.2f rss_mb=%d", g, med(a, n), med(b, n), med(c, n), rss }' \
  "$WORK/results/runs.tsv"
}
LINEV=$(summary gateway-vertx "$RSSV")
LINE=$(summary gateway "$RSS")
OUT=$ROOT/bench/results/gateway.md
mkdir -p "$(dirname "$OUT")"
{
  echo "# gateway vs nginx (reverse proxy of the same nginx backend, 1 KiB body)"
  echo
  echo "Run: \`bench/gateway.sh\` on $(date -Is), $(nproc) CPUs, $(uname -r). Gateway: packaged Quarkus app, $EVENT_LOOPS event loop(s), \`gateway\` = fast path on (default), \`gateway-vertx\` = \`mesh.gateway.listeners.fast-path=false\`,"
  echo "JDK $("$JAVA" -version 2>&1 | head -1), JAVA_OPTS=\`$JAVA_OPTS\`, $(grep -o 'native transport [a-z]*' "$WORK/gateway.log" | head -1)."
  echo "Both gateways had ${WARMUP_PASSES} passes of ${GATEWAY_WARMUP}s of wrk load first, in turn (JIT warm-up; WARMUP_PASSES, GATEWAY_WARMUP). wrk -c${CONNS:-64} -t1, ${ROUNDS:-3} interleaved rounds of ${DURATION:-10s}; medians, [min-max]; ratio = req/s over nginx's of the same round."
  echo "The summary line's ratios are per-round gateway/nginx ratios (req/s, p99, CPU per request), median over rounds."
  echo
  echo '```'
  cat "$SUMMARY"
  echo
  cat "$WORK/results/runs.tsv"
  echo '```'
  echo
  echo "HTTP/2 (h2c, prior knowledge; always the Vert.x path) through the gateway: \`h2load -c${CONNS:-64} -m10 -D10\`: $H2"
  echo
  echo "Load average before / after the rounds: $LOAD_BEFORE / $(cut -d' ' -f1-3 /proc/loadavg)."
  echo "RSS after the runs: gateway (fast path) ${RSS} MB, gateway-vertx (fast path off) ${RSSV} MB."
  echo
  echo "$LINEV"
  echo "$LINE"
} > "$OUT.new"
if [[ -f $HERE/results/gateway-notes.md ]]; then cat "$HERE/results/gateway-notes.md" > "$OUT"; echo >> "$OUT"; cat "$OUT.new" >> "$OUT"; else mv "$OUT.new" "$OUT"; fi
rm -f "$OUT.new"
echo "$LINEV"
echo "$LINE"
