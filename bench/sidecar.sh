#!/usr/bin/env bash
# bench/sidecar.sh: the latency two sidecars add, app -> sidecar -> sidecar -> app against app -> app.
#
# Needs root: it builds a node with two pods out of network namespaces (a bridge with 198.51.100.1/24, a
# documentation range; pods a = .11 and b = .12), runs the packaged citadel and pilot on the node, installs
# capture with the sidecar's own `gateway init-iptables` in each pod and starts the packaged gateway as each
# pod's sidecar (uid 1337), exactly as SidecarMeshIT does. App b is nginx serving a 1 KiB body on 8080
# (through the mesh) and on 8081 (excluded from capture: the direct path).
#
# Load comes from inside pod a with the same tools on both paths:
#   - at RATE req/s (default 1000) for DURATION seconds (default 30) per path: bench/sidecar/RateLoad.java,
#     constant rate, latency from each request's due time (wrk2-style; wrk2 itself is not packaged here). One
#     RateLoad process alternates the two paths in SLICE-second slices (default 5), so noise from the rest of
#     the machine falls on both alike. The direct path goes to b's port 8081, which capture excludes on both
#     sides (pod a outbound, pod b inbound);
#   - at saturation: wrk -t1 -c16 for SAT_SECONDS (default 10) on both paths.
# During the run at RATE it reads both sidecars' CPU time from /proc: cpu_per_krps is CPU-seconds the two
# sidecars use per 1000 mesh requests (= cores per 1000 req/s). rss_mb is the larger sidecar's resident memory.
# Results go to bench/results/sidecar.md; the last line is
#   sidecar added_p50_ms=<n> added_p99_ms=<n> cpu_per_krps=<n> rss_mb=<n>
# KEEP_LOGS=dir copies the run's logs (sidecars, GC logs, pilot, citadel) there before cleaning up.
# Anchors: Istio 1.20 adds 0.228 ms (p90) / 0.298 ms (p99) for two proxies with mTLS; Linkerd < 1 ms p50.
# Goal (reported, never asserted): added p99 <= 0.25 ms at 1000 req/s, RSS < 100 MB per sidecar.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RATE=${RATE:-1000}
SECONDS_MEASURED=${DURATION:-30}
SAT_SECONDS=${SAT_SECONDS:-10}
RESULTS="$ROOT/bench/results/sidecar.md"
# The sidecar JVM's footprint settings, the injector's JAVA_TOOL_OPTIONS (ProxyImageContractTest keeps the two the
# same): a small heap that starts at 8 MB and is kept within 10-20 % free over its live set (so the start-up garbage
# does not leave a 32 MB heap resident: about 12 MB less per sidecar; sidecar-notes.md, sixth round), a small code
# cache, Netty's direct arenas and chunks sized for a sidecar's few connections, and the native heap trimmed every 15 s
# (glibc otherwise keeps what the JIT compilers freed: about 25 MB per sidecar; JDK 17.0.9 or later). SIDECAR_JAVA_OPTS replaces them. SIDECAR_MALLOC_ARENA_MAX sets glibc's MALLOC_ARENA_MAX for
# the sidecars (unset by default); SIDECAR_ENV="K=V ..." adds any other environment to them.
SIDECAR_JAVA_OPTS=${SIDECAR_JAVA_OPTS:--XX:+UseSerialGC -Xms8m -Xmx64m -XX:MinHeapFreeRatio=10 -XX:MaxHeapFreeRatio=20 -Xss256k -XX:ReservedCodeCacheSize=48m \
-XX:MaxMetaspaceSize=96m -XX:CICompilerCount=2 -Dio.netty.allocator.numDirectArenas=2 -Dio.netty.allocator.numHeapArenas=2 \
-Dio.netty.allocator.maxOrder=7 -XX:+UnlockExperimentalVMOptions -XX:TrimNativeHeapInterval=15000}
SIDECAR_MALLOC_ARENA_MAX=${SIDECAR_MALLOC_ARENA_MAX:-}
# SIDECAR_EVENT_LOOPS: the sidecars' data-plane event loops (mesh.gateway.listeners.event-loops; unset = the
# gateway's default).
SIDECAR_EVENT_LOOPS=${SIDECAR_EVENT_LOOPS:-}
JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java
JAVA=$(command -v "$JAVA")
[[ $(id -u) == 0 ]] || { echo "bench/sidecar.sh needs root (ip netns, iptables)" >&2; exit 2; }
for t in nginx wrk ip iptables setpriv curl; do command -v $t >/dev/null || { echo "missing $t" >&2; exit 2; }; done

for c in pilot citadel gateway; do
  [[ -f "$ROOT/$c/target/quarkus-app/quarkus-run.jar" ]] || (cd "$ROOT" && ./mvnw -B -q package -DskipTests -pl "$c" -am)
done

ID=$RANDOM
BR=mbrb$ID; NSA=mbencha$ID; NSB=mbenchb$ID
NODE=198.51.100.1; A_IP=198.51.100.11; B_IP=198.51.100.12; B_VIP=198.51.100.100; B_HOST=b.default.svc.cluster.local
WORK=$(mktemp -d); chmod 755 "$WORK"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  ip netns del "$NSA" 2>/dev/null || true; ip netns del "$NSB" 2>/dev/null || true
  ip link del "va$ID" 2>/dev/null || true; ip link del "vb$ID" 2>/dev/null || true; ip link del "$BR" 2>/dev/null || true
  if [[ -n ${KEEP_LOGS:-} ]]; then mkdir -p "$KEEP_LOGS"; cp -r "$WORK"/. "$KEEP_LOGS"/ 2>/dev/null || true; fi
  rm -rf "$WORK" "/etc/netns/$NSA" "/etc/netns/$NSB"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { local url=$1 i; for ((i = 0; i < 600; i++)); do [[ $(curl -s -o /dev/null -w '%{http_code}' -m 2 "$url" || true) == 200 ]] && return 0; sleep 0.2; done
  echo "timed out waiting for $url" >&2; return 1; }

# --- the node and its pods
ip link add "$BR" type bridge; ip addr add $NODE/24 dev "$BR"; ip link set "$BR" up
pod() { local ns=$1 veth=$2 ip=$3
  # the pod's cluster DNS: ip netns exec mounts /etc/netns/NAME/hosts over /etc/hosts
  mkdir -p "/etc/netns/$ns"
  printf '127.0.0.1 localhost\n%s citadel.istio-system.svc pilot.istio-system.svc\n%s %s\n' $NODE $B_VIP $B_HOST > "/etc/netns/$ns/hosts"
  ip netns add "$ns"; ip -n "$ns" link set lo up
  ip link add "$veth" type veth peer name eth0 netns "$ns"; ip link set "$veth" master "$BR"; ip link set "$veth" up
  ip -n "$ns" addr add "$ip/24" dev eth0; ip -n "$ns" link set eth0 up; }
pod "$NSA" "va$ID" $A_IP; pod "$NSB" "vb$ID" $B_IP

# --- control plane on the node
mkdir -p "$WORK/config" "$WORK/citadel" "$WORK/home-a" "$WORK/home-b"
svc() { cat <<YAML
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: $1, namespace: default}
spec:
  hosts: [$1.default.svc.cluster.local]
  addresses: [$3]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 8080, name: http, protocol: HTTP}]
  endpoints:
  - address: $2
    serviceAccount: $1
    labels: {app: $1, security.istio.io/tlsMode: istio}
YAML
}
{ svc a $A_IP 198.51.100.101; echo ---; svc b $B_IP $B_VIP; } > "$WORK/config/services.yaml"
TA=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n'); TB=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '%s default/a\n%s default/b\n' "$TA" "$TB" > "$WORK/citadel/bootstrap-tokens"
printf '%s' "$TA" > "$WORK/a.token"; printf '%s' "$TB" > "$WORK/b.token"
chown 1337:1337 "$WORK/a.token" "$WORK/b.token" "$WORK/home-a" "$WORK/home-b"; chmod 400 "$WORK/a.token" "$WORK/b.token"
CA_PORT=$(free_port); XDS_PORT=$(free_port); CM=$(free_port); PM=$(free_port)
MESH_MODE=local QUARKUS_HTTP_HOST=127.0.0.1 MESH_CITADEL_MONITORING_PORT=$CM MESH_CITADEL_GRPC_HOST=$NODE \
  MESH_CITADEL_GRPC_PORT=$CA_PORT MESH_CITADEL_STATE_DIR="$WORK/citadel" \
  "$JAVA" -XX:+UseSerialGC -jar "$ROOT/citadel/target/quarkus-app/quarkus-run.jar" > "$WORK/citadel.log" 2>&1 & PIDS+=($!)
MESH_MODE=local QUARKUS_HTTP_HOST=127.0.0.1 MESH_PILOT_MONITORING_PORT=$PM MESH_PILOT_XDS_HOST=$NODE \
  MESH_PILOT_XDS_PORT=$XDS_PORT MESH_PILOT_CONFIG_DIR="$WORK/config" \
  "$JAVA" -XX:+UseSerialGC -jar "$ROOT/pilot/target/quarkus-app/quarkus-run.jar" > "$WORK/pilot.log" 2>&1 & PIDS+=($!)
wait_http "http://127.0.0.1:$CM/q/health/ready"; wait_http "http://127.0.0.1:$PM/q/health/ready"
cp "$WORK/citadel/root-cert.pem" "$WORK/root-cert.pem"; chmod 644 "$WORK/root-cert.pem"   # as a pod mounts istio-ca-root-cert

# --- app b: nginx, 1 KiB, on 8080 (meshed) and 8081 (excluded from capture: the direct path)
BODY=$(head -c 1024 /dev/zero | tr '\0' x)
mkdir -p "$WORK/nginx"
cat > "$WORK/nginx/nginx.conf" <<CONF
worker_processes 1;
pid $WORK/nginx/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx; proxy_temp_path $WORK/nginx; fastcgi_temp_path $WORK/nginx;
  uwsgi_temp_path $WORK/nginx; scgi_temp_path $WORK/nginx;
  keepalive_requests 1000000;
  server { listen 8080; listen 8081; location / { default_type text/plain; return 200 "$BODY"; } }
}
CONF
ip netns exec "$NSB" nginx -p "$WORK/nginx" -e "$WORK/nginx/error.log" -c "$WORK/nginx/nginx.conf" -g 'daemon off;' & PIDS+=($!)

# --- capture and sidecars
GW="$ROOT/gateway/target/quarkus-app/quarkus-run.jar"
# Pod a's outbound capture leaves port 8081 alone, so its load generator reaches app b directly there.
ip netns exec "$NSA" "$JAVA" -jar "$GW" init-iptables --exclude-outbound-ports=8081 > /dev/null
ip netns exec "$NSB" "$JAVA" -jar "$GW" init-iptables --exclude-inbound-ports=8081 > /dev/null
sidecar() { local ns=$1 name=$2 ip=$3
  env ${SIDECAR_MALLOC_ARENA_MAX:+MALLOC_ARENA_MAX=$SIDECAR_MALLOC_ARENA_MAX} ${SIDECAR_ENV:-} \
    ${SIDECAR_EVENT_LOOPS:+MESH_GATEWAY_LISTENERS_EVENT_LOOPS=$SIDECAR_EVENT_LOOPS} HOME="$WORK/home-$name" QUARKUS_HTTP_HOST=0.0.0.0 MESH_GATEWAY_MODE=sidecar INSTANCE_IP=$ip POD_NAMESPACE=default \
    MESH_GATEWAY_CANONICAL_SERVICE=$name MESH_GATEWAY_XDS_ADDRESS=pilot.istio-system.svc:$XDS_PORT MESH_GATEWAY_CA_ADDRESS=citadel.istio-system.svc:$CA_PORT \
    MESH_GATEWAY_CA_TOKEN_FILE="$WORK/$name.token" MESH_GATEWAY_CA_ROOT_CERT_FILE="$WORK/root-cert.pem" \
    MESH_GATEWAY_TELEMETRY_ACCESS_LOG=false \
    ip netns exec "$ns" setpriv --reuid=1337 --regid=1337 --clear-groups "$JAVA" $SIDECAR_JAVA_OPTS \
      -Xlog:gc:file="$WORK/home-$name/gc.log" -Djna.tmpdir="$WORK/home-$name" -jar "$GW" sidecar > "$WORK/sidecar-$name.log" 2>&1 & PIDS+=($!)
  eval "SIDECAR_${name^^}=$!"
}
sidecar "$NSA" a $A_IP; sidecar "$NSB" b $B_IP
wait_http "http://$A_IP:15021/healthz/ready"; wait_http "http://$B_IP:15021/healthz/ready"

in_a() { ip netns exec "$NSA" "$@"; }
if [[ -n ${HOLD:-} ]]; then   # debugging: keep the pods up for HOLD seconds, then clean up
  echo "pods: $NSA ($A_IP) $NSB ($B_IP); logs and config in $WORK" >&2; sleep "$HOLD"; exit 0
fi
as_proxy() { ip netns exec "$NSA" setpriv --reuid=1337 --regid=1337 --clear-groups "$@"; }
[[ $(in_a curl -s -o /dev/null -w '%{http_code}' http://$B_HOST:8080/) == 200 ]] \
  || { echo "the mesh path does not answer; logs in $WORK" >&2; tail -20 "$WORK/sidecar-a.log" >&2; exit 1; }
[[ $(in_a curl -s -o /dev/null -w '%{http_code}' http://$B_IP:8081/) == 200 ]] || { echo "the direct path does not answer" >&2; exit 1; }

ticks() { local t=0 p; for p in "$@"; do t=$((t + $(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12+$13}'))); done; echo "$t"; }
HZ=$(getconf CLK_TCK)
LOAD="$ROOT/bench/sidecar/RateLoad.java"
echo "warm-up (JIT) through the mesh..." >&2
in_a wrk -t1 -c8 -d10s -H "Host: $B_HOST:8080" http://$B_VIP:8080/ > /dev/null

# RATE_WARMUP: seconds at the constant rate on each path before measuring. The first seconds after the saturating
# warm-up still carry JIT recompilation for the paced pattern (bench/results/sidecar-notes.md).
SLICE=${SLICE:-5}; ROUNDS=$(( (SECONDS_MEASURED + SLICE - 1) / SLICE )); RATE_WARMUP=${RATE_WARMUP:-15}
echo "constant rate $RATE/s: direct and mesh interleaved, ${SLICE}s slices, $ROUNDS rounds each" >&2
t0=$(ticks $SIDECAR_A $SIDECAR_B)
RUN=$(in_a "$JAVA" -Xmx128m "$LOAD" --interleave "$SLICE" "$ROUNDS" "$RATE" 10 "$RATE_WARMUP" \
  direct=$B_IP:8081@$B_IP:8081 mesh=$B_VIP:8080@$B_HOST:8080)
t1=$(ticks $SIDECAR_A $SIDECAR_B)
DIRECT=$(sed -n 's/^direct //p' <<< "$RUN"); MESH=$(sed -n 's/^mesh //p' <<< "$RUN")
echo "direct: $DIRECT" >&2; echo "mesh:   $MESH" >&2

echo "saturation, wrk -t1 -c16 ${SAT_SECONDS}s: direct, then mesh" >&2
SAT_DIRECT=$(as_proxy wrk -t1 -c16 -d${SAT_SECONDS}s --latency http://$B_IP:8081/)
SAT_MESH=$(in_a wrk -t1 -c16 -d${SAT_SECONDS}s --latency -H "Host: $B_HOST:8080" http://$B_VIP:8080/)
# The machine's own wake-up latency, right after (pods idle): a thread sleeping 1 ms at a time (cyclictest, from
# Debian's rt-tests, when installed). Each sidecar adds wake-ups to a request's path (its read of the request, its read
# of the response, on both sides), so this tail bounds how low the added p99 can go here (sidecar-notes.md).
WAKEUP="cyclictest not installed (apt-get install rt-tests)"
if command -v cyclictest > /dev/null; then
  WAKEUP=$(cyclictest -q -t1 -i1000 -D"${WAKEUP_SECONDS:-15}" -h5000 2>/dev/null | awk '!/^#/ { v = $2 + 0; tot += v; a[$1 + 0] = v }
    /^# Histogram Overflows/ { over = $4 + 0 }
    END { c = 0; for (i = 0; i < 5000; i++) { c += a[i]; if (p50 == "" && c >= tot * 0.5) p50 = i; if (p99 == "" && c >= tot * 0.99) p99 = i
          if (p999 == "" && c >= tot * 0.999) p999 = i; if (i == 500) over500 = tot - c }
      printf "%d wake-ups: p50 %d us, p99 %d us, p99.9 %s us; %.2f %% later than 0.5 ms", tot + over, p50, p99, (p999 == "" ? ">5000" : p999), (over500 + over) * 100 / (tot + over) }')
fi
rss() { awk '/VmRSS/{print int($2/1024)}' "/proc/$1/status"; }
RSS_A=$(rss $SIDECAR_A); RSS_B=$(rss $SIDECAR_B)
# What the sidecars themselves recorded other than 200 during the whole run (warm-up and saturation included): Istio's
# request counter from each one's merged metrics on 15020, so a failed request in the results says which side and flag.
proxy_errors() { curl -s -m 5 "http://$1:15020/stats/prometheus" | awk '/^istio_requests_total\{/ && !/response_code="200"/' \
  | sed 's/.*reporter="\([a-z]*\)".*response_code="\([0-9]*\)".*response_flags="\([^"]*\)".*} \(.*\)/\1 \2 \3: \4/' | tr '\n' ';'; }
ERRORS_A=$(proxy_errors $A_IP); ERRORS_B=$(proxy_errors $B_IP)

field() { sed -n "s/.*$2=\([0-9.]*\).*/\1/p" <<< "$1"; }
ADDED_P50=$(awk -v m="$(field "$MESH" p50_ms)" -v d="$(field "$DIRECT" p50_ms)" 'BEGIN{printf "%.3f", m-d}')
ADDED_P90=$(awk -v m="$(field "$MESH" p90_ms)" -v d="$(field "$DIRECT" p90_ms)" 'BEGIN{printf "%.3f", m-d}')
ADDED_P99=$(awk -v m="$(field "$MESH" p99_ms)" -v d="$(field "$DIRECT" p99_ms)" 'BEGIN{printf "%.3f", m-d}')
# The sidecars' CPU time covers the mesh warm-up too: RATE_WARMUP seconds at RATE, then the measured requests.
MESH_REQUESTS=$(( $(field "$MESH" requests) + RATE * RATE_WARMUP ))
# CPU-seconds of both sidecars per 1000 mesh requests = cores per 1000 req/s (the direct slices bypass them).
CPU_PER_KRPS=$(awk -v t=$((t1 - t0)) -v hz="$HZ" -v n="$MESH_REQUESTS" 'BEGIN{printf "%.3f", (n>0 ? t/hz*1000/n : 0)}')
RSS_MAX=$(( RSS_A > RSS_B ? RSS_A : RSS_B ))
rps() { awk '/Requests\/sec/{print int($2)}' <<< "$1"; }
lat() { awk -v q="$2" '$1==q{print $2}' <<< "$1"; }
LINE="sidecar added_p50_ms=$ADDED_P50 added_p99_ms=$ADDED_P99 cpu_per_krps=$CPU_PER_KRPS rss_mb=$RSS_MAX"
{
  echo "# Sidecar benchmark"
  echo
  echo "Run $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) CPUs, load average before: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo "Two pods (network namespaces on a bridge), capture by \`gateway init-iptables\`, mesh mTLS with citadel"
  echo "certificates, app b = nginx with a 1 KiB body. Load from inside pod a. See the header of bench/sidecar.sh."
  echo
  echo "## Constant rate: $RATE req/s, direct and mesh interleaved in ${SLICE}s slices, $ROUNDS rounds each after ${RATE_WARMUP}s at the rate on each (RateLoad, latency from the due time)"
  echo
  echo "| path | result |"
  echo "|---|---|"
  echo "| direct (app -> app) | $DIRECT |"
  echo "| mesh (app -> sidecar -> mTLS -> sidecar -> app) | $MESH |"
  echo
  echo "Added by the two sidecars: p50 $ADDED_P50 ms, p90 $ADDED_P90 ms, p99 $ADDED_P99 ms."
  echo "Anchor: Istio 1.20 adds 0.228 ms (p90) and 0.298 ms (p99) with mTLS; Linkerd under 1 ms at p50."
  echo "Sidecar CPU at this rate: $CPU_PER_KRPS cores per 1000 req/s (both sidecars together)."
  echo "This machine's timer wake-up latency right after (cyclictest, 1 ms sleeps, one thread): $WAKEUP."
  echo
  echo "## Saturation: wrk -t1 -c16 for ${SAT_SECONDS}s"
  echo
  echo "| path | req/s | p50 | p99 |"
  echo "|---|---|---|---|"
  echo "| direct | $(rps "$SAT_DIRECT") | $(lat "$SAT_DIRECT" 50%) | $(lat "$SAT_DIRECT" 99%) |"
  echo "| mesh | $(rps "$SAT_MESH") | $(lat "$SAT_MESH" 50%) | $(lat "$SAT_MESH" 99%) |"
  echo
  echo "RSS after the runs: sidecar a $RSS_A MB, sidecar b $RSS_B MB. JVM options: \`$SIDECAR_JAVA_OPTS\`${SIDECAR_MALLOC_ARENA_MAX:+, MALLOC_ARENA_MAX=$SIDECAR_MALLOC_ARENA_MAX}${SIDECAR_EVENT_LOOPS:+, event loops $SIDECAR_EVENT_LOOPS}."
  echo
  echo "Responses other than 200 the sidecars recorded in the whole run (reporter code flags: count): a: ${ERRORS_A:-none}; b: ${ERRORS_B:-none}."
  echo
  echo "Longest GC pauses during the whole run (sidecar a, b; -Xlog:gc):"
  for n in a b; do echo "- $n: $(grep 'Pause' "$WORK/home-$n/gc.log" | awk '{print $NF}' | sort -g | tail -3 | tr '\n' ' ')"; done
  echo
  echo "Goal: added p99 <= 0.25 ms at 1000 req/s, RSS < 100 MB per sidecar. Analysis and earlier runs: bench/results/sidecar-notes.md."
  echo
  echo "$LINE"
} > "$RESULTS"
echo "$LINE"
