#!/usr/bin/env bash
# bench/telemetry.sh [SECONDS]: OTLP ingestion throughput of telemetry, in JVM mode with the local runner's flags.
#
# Telemetry runs as its own process (MESH_JAVA_OPTS from deploy/local/mesh.env); the load generator
# (bench/telemetry-load.java) runs as another, posting pre-built OTLP/HTTP protobuf export requests.
# Phases, SECONDS each (default 15):
#   anchor   the same generator against bench/telemetry-sink.java, a JDK HTTP server that reads and discards
#            bodies: the ceiling of the generator and of HTTP on this machine, measured in the same run;
#   max      spans as fast as telemetry answers (batches of 512 spans, 8 connections): spans_per_s accepted;
#   rate     spans paced at 50000/s: drop_ratio = (sent - accepted) / sent (429s and errors are drops);
#   metrics  Istio data points as fast as telemetry answers: metric_points_per_s accepted.
# heap_mb is telemetry's used heap (jvm_memory_used_bytes, area heap) after the run. The last line printed and
# written to bench/results/telemetry.md is
#   telemetry spans_per_s=<n> metric_points_per_s=<n> drop_ratio=<r> heap_mb=<n>
# Goal (reported, never asserted): >= 50k spans/s, and drop_ratio 0 below that rate.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PHASE_SECONDS=${1:-15}
RATE=50000
BATCH=512
THREADS=8
RESULTS="$ROOT/bench/results/telemetry.md"
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

MESH_JAVA_OPTS=${MESH_JAVA_OPTS:-$(sed -n 's/^MESH_JAVA_OPTS="\(.*\)"$/\1/p' "$ROOT/deploy/local/mesh.env")}
JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java
APP="$ROOT/telemetry/target/quarkus-app"
if [[ ! -f "$APP/quarkus-run.jar" ]]; then
  (cd "$ROOT" && ./mvnw -B -q package -DskipTests -pl telemetry -am)
fi
CP=$(ls "$APP"/lib/main/com.google.protobuf.protobuf-java-[0-9]*.jar "$APP"/lib/main/io.opentelemetry.proto.opentelemetry-proto-*.jar | paste -sd:)

free_port() {
  local port
  while :; do
    port=$(( 20000 + RANDOM % 20000 ))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
  done
}

http_ok() {
  local code
  code=$( (exec 3<>"/dev/tcp/127.0.0.1/$1" && printf 'GET %s HTTP/1.0\r\n\r\n' "$2" >&3 && read -r -t 2 _ c _ <&3 && printf '%s' "$c") 2>/dev/null || true)
  [[ "$code" == 200 ]]
}

wait_ready() { # PID PORT PATH NAME
  local deadline=$(( $(date +%s) + 60 ))
  until http_ok "$2" "$3"; do
    kill -0 "$1" 2>/dev/null || { echo "bench: $4 exited:" >&2; tail -20 "$WORK/$4.log" >&2; exit 1; }
    (( $(date +%s) < deadline )) || { echo "bench: $4 not ready after 60 s" >&2; exit 1; }
    sleep 0.05
  done
}

# load SIGNAL URL RATE -> "sent accepted throttled failed seconds"
load() {
  "$JAVA" -Xmx512m -cp "$CP" "$ROOT/bench/telemetry-load.java" "$1" "$2" "$THREADS" "$PHASE_SECONDS" "$3" "$BATCH" \
    | sed -n 's/^sent=\([0-9]*\) accepted=\([0-9]*\) throttled=\([0-9]*\) failed=\([0-9]*\) seconds=\([0-9.]*\)$/\1 \2 \3 \4 \5/p'
}

SINK_PORT=$(free_port)
"$JAVA" "$ROOT/bench/telemetry-sink.java" "$SINK_PORT" > "$WORK/sink.log" 2>&1 &
PIDS+=($!)
MON=$(free_port); GRPC=$(free_port); HTTP=$(free_port)
# shellcheck disable=SC2086
env QUARKUS_HTTP_HOST=127.0.0.1 MESH_MODE=local MESH_TELEMETRY_MONITORING_PORT="$MON" \
  MESH_TELEMETRY_OTLP_GRPC_PORT="$GRPC" MESH_TELEMETRY_OTLP_HTTP_PORT="$HTTP" \
  "$JAVA" $MESH_JAVA_OPTS -jar "$APP/quarkus-run.jar" > "$WORK/telemetry.log" 2>&1 &
TELEMETRY_PID=$!
PIDS+=("$TELEMETRY_PID")
wait_ready "$TELEMETRY_PID" "$MON" /q/health/ready telemetry
sleep 1

echo "bench: anchor (discarding HTTP sink)" >&2
read -r a_sent a_acc _ _ a_secs < <(load traces "http://127.0.0.1:$SINK_PORT" 0)
echo "bench: telemetry, spans at max rate" >&2
read -r m_sent m_acc m_thr m_fail m_secs < <(load traces "http://127.0.0.1:$HTTP" 0)
echo "bench: telemetry, spans at $RATE/s" >&2
read -r r_sent r_acc r_thr r_fail r_secs < <(load traces "http://127.0.0.1:$HTTP" "$RATE")
echo "bench: telemetry, Istio metric points at max rate" >&2
read -r p_sent p_acc p_thr p_fail p_secs < <(load metrics "http://127.0.0.1:$HTTP" 0)

heap_bytes=$(curl -s "http://127.0.0.1:$MON/q/metrics" -H 'Accept: text/plain; version=0.0.4' \
  | awk '/^jvm_memory_used_bytes\{.*area="heap"/ {sum += $NF} END {printf "%d", sum}')
rss_kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$TELEMETRY_PID/status")
series=$(curl -s "http://127.0.0.1:$MON/q/metrics" -H 'Accept: text/plain; version=0.0.4' \
  | awk '/^telemetry_series / {printf "%d", $2}')

rate() { awk -v n="$1" -v s="$2" 'BEGIN {printf "%d", n / s}'; }
anchor_sps=$(rate "$a_acc" "$a_secs")
spans_per_s=$(rate "$m_acc" "$m_secs")
sent_per_s=$(rate "$r_sent" "$r_secs")
points_per_s=$(rate "$p_acc" "$p_secs")
drop_ratio=$(awk -v s="$r_sent" -v a="$r_acc" 'BEGIN {printf "%.4f", (s > 0 ? (s - a) / s : 0)}')
heap_mb=$(( heap_bytes / 1048576 ))
ratio=$(awk -v a="$spans_per_s" -v b="$anchor_sps" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')

{
  echo "# Telemetry: OTLP ingestion throughput"
  echo
  echo "Measured by \`bench/telemetry.sh $PHASE_SECONDS\` on $(date -u +%Y-%m-%d) ($(nproc) cores, $("$JAVA" -version 2>&1 | head -1))."
  echo "Telemetry JVM flags (the local runner's): \`$MESH_JAVA_OPTS\`, default limits. Load: OTLP/HTTP protobuf,"
  echo "$THREADS connections, $BATCH spans per export request (4 services, 3 attributes per span), from a separate"
  echo "process (\`bench/telemetry-load.java\`) on the same $(nproc)-core machine, so generator and server share the CPUs."
  echo
  echo "| phase | sent | accepted | throttled (429) req | failed req | seconds | accepted per s |"
  echo "|---|---|---|---|---|---|---|"
  echo "| anchor: discarding JDK HTTP sink, spans | $a_sent | $a_acc | - | - | $a_secs | $anchor_sps |"
  echo "| telemetry, spans, max rate | $m_sent | $m_acc | $m_thr | $m_fail | $m_secs | $spans_per_s |"
  echo "| telemetry, spans, paced at $RATE/s (sent $sent_per_s/s) | $r_sent | $r_acc | $r_thr | $r_fail | $r_secs | $(rate "$r_acc" "$r_secs") |"
  echo "| telemetry, Istio metric points, max rate | $p_sent | $p_acc | $p_thr | $p_fail | $p_secs | $points_per_s |"
  echo
  echo "Telemetry vs anchor (spans/s): ${ratio}x. After the run: heap used ${heap_mb} MB, RSS $(( rss_kb / 1024 )) MB,"
  echo "Istio series ${series:-?} (metric phase: 200 label sets x 2 families)."
  echo "Goal: >= 50000 spans/s, drop_ratio 0 at $RATE/s."
  echo
  echo "telemetry spans_per_s=$spans_per_s metric_points_per_s=$points_per_s drop_ratio=$drop_ratio heap_mb=$heap_mb"
} > "$RESULTS"
cat "$RESULTS"
