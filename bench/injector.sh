#!/usr/bin/env bash
# bench/injector.sh [SECONDS]: admission reviews per second and p99 latency of the sidecar injector.
#
# Starts the packaged injector (JVM mode, the local runner's JVM flags, local mode) on free ports, and
# sends it AdmissionReviews of a real Deployment pod (injector/src/test/resources/golden/deployment-pod)
# over HTTPS/h2 with h2load: 4 connections x 2 concurrent streams (BENCH_CONNECTIONS, BENCH_STREAMS), a 3 s
# warm-up, then SECONDS (default 10) measured.
# Every response is checked to carry a JSON patch. p99 comes from h2load's per-request log.
# The anchor, measured the same way in the same run, is nginx answering every POST with a fixed
# AdmissionReview response of the same size over the same kind of TLS (ECDSA P-256, h2), with as many
# workers as the injector has event loops: the cost of the transport alone on this machine.
# Results go to bench/results/injector.md; the last line printed and written is
#   injector reviews_per_s=<n> p99_ms=<n>
# Goal (reported, never asserted): >= 2000 reviews/s and p99 < 10 ms.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SECONDS_MEASURED=${1:-10}
CONNECTIONS=${BENCH_CONNECTIONS:-4}
STREAMS=${BENCH_STREAMS:-2}
RESULTS="$ROOT/bench/results/injector.md"
JAR="$ROOT/injector/target/quarkus-app/quarkus-run.jar"
POD="$ROOT/injector/src/test/resources/golden/deployment-pod/pod.yaml"
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

for tool in h2load nginx openssl python3 curl; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is needed" >&2; exit 1; }
done
MESH_JAVA_OPTS=${MESH_JAVA_OPTS:-$(sed -n 's/^MESH_JAVA_OPTS="\(.*\)"$/\1/p' "$ROOT/deploy/local/mesh.env")}
JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java
[[ -f "$JAR" ]] || (cd "$ROOT" && ./mvnw -B -q package -DskipTests -pl injector)

free_port() {
  local port
  while :; do
    port=$(( 20000 + RANDOM % 20000 ))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
  done
}

# The request: an AdmissionReview v1 (CREATE) of the Deployment's pod, as kube-apiserver sends it.
python3 - "$POD" "$WORK/review.json" <<'PY'
import json, sys, uuid
try:
    import yaml
    pod = yaml.safe_load(open(sys.argv[1]))
except ImportError:
    sys.exit("bench: python3-yaml is needed")
pod["metadata"].pop("namespace", None)
review = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
    "uid": str(uuid.uuid4()), "kind": {"group": "", "version": "v1", "kind": "Pod"},
    "resource": {"group": "", "version": "v1", "resource": "pods"}, "namespace": "default",
    "operation": "CREATE", "userInfo": {"username": "system:serviceaccount:kube-system:replicaset-controller"},
    "object": pod, "oldObject": None, "dryRun": False}}
json.dump(review, open(sys.argv[2], "w"))
PY

CORES=$(nproc)
MONITORING=$(free_port); WEBHOOK=$(free_port)
# shellcheck disable=SC2086 # MESH_JAVA_OPTS is a list of JVM flags
env MESH_MODE=local QUARKUS_HTTP_HOST=127.0.0.1 MESH_INJECTOR_MONITORING_PORT="$MONITORING" \
  MESH_INJECTOR_WEBHOOK_PORT="$WEBHOOK" MESH_INJECTOR_STATE_DIR="$WORK/state" \
  "$JAVA" $MESH_JAVA_OPTS -Xlog:gc:file="$WORK/gc.log" -jar "$JAR" > "$WORK/injector.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 600); do
  curl -sf "http://127.0.0.1:$MONITORING/q/health/ready" >/dev/null 2>&1 && break
  kill -0 "${PIDS[0]}" 2>/dev/null || { echo "bench: the injector exited:" >&2; tail -20 "$WORK/injector.log" >&2; exit 1; }
  sleep 0.1
done
curl -sf "http://127.0.0.1:$MONITORING/q/health/ready" >/dev/null || { echo "bench: injector not ready" >&2; exit 1; }

# One review by curl, checked, and its response reused as nginx's fixed answer.
curl -sS --fail --cacert "$WORK/state/webhook-ca.pem" -H 'Content-Type: application/json' \
  --data-binary @"$WORK/review.json" "https://localhost:$WEBHOOK/inject" > "$WORK/response.json"
grep -q '"patchType":"JSONPatch"' "$WORK/response.json" || { echo "bench: no patch in $(cat "$WORK/response.json")" >&2; exit 1; }

# The anchor: nginx with the same kind of key, h2, a fixed answer of the same size.
ANCHOR=$(free_port)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=localhost \
  -keyout "$WORK/nginx.key" -out "$WORK/nginx.crt" 2>/dev/null
mkdir -p "$WORK/nginx/logs"
python3 - "$WORK" "$ANCHOR" "$CORES" <<'PY'
import sys
work, port, workers = sys.argv[1:]
import os, shutil
os.makedirs(f"{work}/www", exist_ok=True)
shutil.copy(f"{work}/response.json", f"{work}/www/inject")
open(f"{work}/nginx.conf", "w").write(f"""
worker_processes {workers};
error_log {work}/nginx/logs/error.log warn;
pid {work}/nginx/nginx.pid;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  # h2load does not reconnect in a timed run; nginx would close a connection after 1000 requests.
  keepalive_requests 100000000;
  client_body_temp_path {work}/nginx/body;
  proxy_temp_path {work}/nginx/proxy;
  fastcgi_temp_path {work}/nginx/fastcgi;
  uwsgi_temp_path {work}/nginx/uwsgi;
  scgi_temp_path {work}/nginx/scgi;
  client_max_body_size 4m;
  server {{
    listen 127.0.0.1:{port} ssl http2;
    ssl_certificate {work}/nginx.crt;
    ssl_certificate_key {work}/nginx.key;
    root {work}/www;
    location = /inject {{
      default_type application/json;
      # nginx refuses POST to a static file with 405; answer it with the file instead.
      error_page 405 =200 $uri;
    }}
  }}
}}
""")
PY
# nginx's workers may run as another user (when started by root): let them read the answer.
chmod 755 "$WORK" "$WORK/www"; chmod 644 "$WORK/www/inject"
nginx -p "$WORK/nginx" -c "$WORK/nginx.conf" -g 'daemon off;' 2> "$WORK/nginx.err" &
PIDS+=($!)
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$ANCHOR") 2>/dev/null && break; sleep 0.05; done
curl -sS --fail --http2 -k --data-binary @"$WORK/review.json" "https://127.0.0.1:$ANCHOR/inject" -o /dev/null \
  || { echo "bench: nginx (the anchor) does not answer:" >&2; cat "$WORK/nginx.err" "$WORK/nginx/logs/error.log" >&2; exit 1; }

# run NAME URL -> "reviews_per_s p50_ms p99_ms failed"
run() {
  local name=$1 url=$2
  h2load -c "$CONNECTIONS" -m "$STREAMS" -t 1 --warm-up-time=3 -D "$SECONDS_MEASURED" -d "$WORK/review.json" \
    -H 'Content-Type: application/json' --log-file="$WORK/$name.requests" "$url" > "$WORK/$name.h2load" 2>&1
  grep -q "Application protocol: h2" "$WORK/$name.h2load" || { echo "bench: $name did not speak h2" >&2; cat "$WORK/$name.h2load" >&2; exit 1; }
  local rps failed
  rps=$(awk '/^finished in/ {for (i=1;i<=NF;i++) if ($i ~ /req\/s/) {gsub(",", "", $(i-1)); printf "%d", $(i-1)}}' "$WORK/$name.h2load")
  failed=$(awk '/^requests:/ {for (i=1;i<=NF;i++) if ($(i) ~ /^failed/) {print $(i-1)}}' "$WORK/$name.h2load")
  # Each log line: start time, status, latency in microseconds.
  local non200
  non200=$(awk '$2 != 200' "$WORK/$name.requests" | wc -l)
  read -r p50 p99 < <(awk '{print $3}' "$WORK/$name.requests" | sort -n | awk '{a[NR]=$1} END {
    i = int(NR * 0.50); if (i < 1) i = 1; j = int(NR * 0.99); if (j < 1) j = 1
    printf "%.2f %.2f\n", a[i] / 1000, a[j] / 1000 }')
  echo "$rps $p50 $p99 $((failed + non200))"
}

read -r anchor_rps anchor_p50 anchor_p99 anchor_failed < <(run anchor "https://127.0.0.1:$ANCHOR/inject")
read -r rps p50 p99 failed < <(run injector "https://127.0.0.1:$WEBHOOK/inject")
rss=$(awk '/^VmRSS:/ {printf "%d", $2 / 1024}' "/proc/${PIDS[0]}/status")
patched=$(curl -sf "http://127.0.0.1:$MONITORING/q/metrics" | awk '/^sidecar_injection_success_total/ {printf "%d", $2}')

# GC pauses while the injector was under load (after the warm-up of the anchor run they are all ours).
read -r gc_count gc_max_ms gc_total_ms < <(awk '/Pause/ {ms = $NF; sub("ms", "", ms); n++; t += ms; if (ms > m) m = ms}
  END {printf "%d %.1f %.0f\n", n, m, t}' "$WORK/gc.log")
ratio=$(awk -v a="$rps" -v b="$anchor_rps" 'BEGIN {printf "%.2f", a / b}')

{
  echo "# Injector: admission reviews over HTTPS/h2"
  echo
  echo "Measured by \`bench/injector.sh $SECONDS_MEASURED\` on $(date -u +%Y-%m-%d) ($CORES cores, $("$JAVA" -version 2>&1 | head -1), $(h2load --version | head -1))."
  echo "Load: h2load, $CONNECTIONS connections x $STREAMS concurrent streams, one client thread, 3 s warm-up, ${SECONDS_MEASURED} s measured;"
  echo "each request is an AdmissionReview (CREATE) of a Deployment's pod ($(wc -c < "$WORK/review.json") bytes), each answer a"
  echo "JSON patch ($(wc -c < "$WORK/response.json") bytes). The injector runs with the local runner's JVM flags: \`$MESH_JAVA_OPTS\`."
  echo "The injector's TLS: $(grep -o 'TLS by [a-z]*' "$WORK/injector.log" | head -1) (BoringSSL via netty-tcnative when it loads, else the JDK's)."
  echo "Anchor: nginx ($(nginx -v 2>&1 | sed 's/.*\///'), $CORES workers) returning that same answer to every POST over the same TLS (ECDSA P-256, h2)."
  echo
  echo "| server | reviews/s | vs anchor | p50 ms | p99 ms | failed |"
  echo "|---|---|---|---|---|---|"
  echo "| anchor (nginx, fixed answer) | $anchor_rps | 1.00 | $anchor_p50 | $anchor_p99 | $anchor_failed |"
  echo "| injector | $rps | $ratio | $p50 | $p99 | $failed |"
  echo
  echo "Injector RSS after the run: ${rss} MB; pods patched (sidecar_injection_success_total): $patched;"
  echo "GC (serial, from start to the end of the run): $gc_count pauses, longest ${gc_max_ms} ms, ${gc_total_ms} ms in all."
  echo "Load average when the run ended: $(cut -d' ' -f1-3 /proc/loadavg) (other work on this shared machine competes for the cores)."
  echo "The client shares the $CORES cores with the server, so both rows are bounded by the machine, not the server alone."
  echo "Goal: >= 2000 reviews/s and p99 < 10 ms."
  echo
  echo "injector reviews_per_s=$rps p99_ms=$p99"
} > "$RESULTS"
cat "$RESULTS"
