#!/usr/bin/env bash
# bench/pilot.sh [CLIENTS] [SERVICES] [ROUNDS]: pilot's push path under a simulated fleet.
#
# Starts the packaged pilot (local mode, -Xmx1g) with SERVICES ServiceEntries of 5 endpoints each (default
# 1000), then CLIENTS sidecar-like ADS streams (default 2000) in a separate process (bench/pilot/PilotFleet.java:
# CDS+LDS wildcard, EDS for every cluster, RDS for every route, every response ACKed). With the fleet synced it
# measures, in one run:
#   - heap after a full GC, with no clients and with all of them connected (memory per connection);
#   - convergence: a VirtualService change -> every client has ACKed its new routes, p50/p99 over ROUNDS (5);
#   - an endpoint-only change (one service's endpoints) -> every client has ACKed its new EDS, p50/p99;
#   - the CPU that pilot and the fleet used over those rounds (they share the machine's cores).
# WARMUP changes of each kind (default 10) before the rounds are a warm-up: printed, not counted. pilot runs its
# snapshot and generation code once per change, so C2 reaches it only after many changes: with one warm-up change
# a third of pilot's CPU in the measured rounds was the JIT compiler, and with three still as much (perf).
# The anchor is istiod's published sizing (Istio 1.20): 1 vCPU and 1.5 GB for 1000 services and 2000 sidecars.
# Results go to bench/results/pilot.md; the last line printed and written is
#   pilot clients=<N> services=<M> convergence_p99_ms=<n> eds_p99_ms=<n> heap_mb=<n>
# Goal (reported, never asserted): N=2000, M=1000 converges with p99 < 1 s and heap < 1 GB on this machine.
# PILOT_PROFILE=/path/rounds.jfr records pilot with JFR during the measured rounds; PILOT_JAVA_OPTS adds JVM flags.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CLIENTS=${1:-2000}
SERVICES=${2:-1000}
ROUNDS=${3:-5}
WARMUP=${WARMUP:-10}
PILOT_JVM=${PILOT_JVM:--XX:+UseSerialGC -Xmx1g}
RESULTS="$ROOT/bench/results/pilot.md"
APP="$ROOT/pilot/target/quarkus-app"
WORK=$(mktemp -d)
JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java
JCMD=${JAVA_HOME:+$JAVA_HOME/bin/}jcmd
PILOT_PID=""
FLEET_PID=""
cleanup() {
  [[ -n "$FLEET_PID" ]] && kill "$FLEET_PID" 2>/dev/null && wait "$FLEET_PID" 2>/dev/null || true
  [[ -n "$PILOT_PID" ]] && kill "$PILOT_PID" 2>/dev/null && wait "$PILOT_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

if [[ ! -f "$APP/quarkus-run.jar" ]]; then
  (cd "$ROOT" && ./mvnw -B -q package -pl pilot -DskipTests)
fi
CP="$APP/lib/main/*:$APP/app/*"
FLEET="$ROOT/bench/pilot/PilotFleet.java"

free_port() {
  local port
  while :; do
    port=$(( 20000 + RANDOM % 20000 ))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
  done
}
http_get() { curl -s --max-time 10 "http://127.0.0.1:$HTTP_PORT$1"; }

# Heap used after a full GC, in MB (jcmd runs the GC; /q/metrics reports the heap pools).
heap_mb() {
  "$JCMD" "$PILOT_PID" GC.run > /dev/null
  http_get /q/metrics | awk 'index($0, "jvm_memory_used_bytes{area=\"heap\"") == 1 { sum += $NF } END { printf "%.0f", sum / 1048576 }'
}

CONFIG="$WORK/config"
mkdir -p "$CONFIG"
echo "generating $SERVICES services with 5 endpoints each ..."
"$JAVA" -cp "$CP" "$FLEET" generate "$CONFIG" "$SERVICES"

XDS_PORT=$(free_port)
HTTP_PORT=$(free_port)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
echo "starting pilot (xDS 127.0.0.1:$XDS_PORT) ..."
env MESH_MODE=local MESH_PILOT_CONFIG_DIR="$CONFIG" MESH_PILOT_XDS_PORT="$XDS_PORT" MESH_PILOT_XDS_HOST=127.0.0.1 \
  MESH_PILOT_MONITORING_PORT="$HTTP_PORT" QUARKUS_HTTP_HOST=127.0.0.1 \
  "$JAVA" $PILOT_JVM ${PILOT_JAVA_OPTS:-} -jar "$APP/quarkus-run.jar" > "$WORK/pilot.log" 2>&1 &
PILOT_PID=$!
for _ in $(seq 1 600); do
  [[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HTTP_PORT/q/health/ready" || true)" == 200 ]] && break
  kill -0 "$PILOT_PID" 2>/dev/null || { cat "$WORK/pilot.log"; exit 1; }
  sleep 0.1
done
SERVICES_SEEN=$(http_get /q/metrics | awk '/^pilot_services / { printf "%d", $2 }')
HEAP_IDLE=$(heap_mb)
echo "pilot ready: $SERVICES_SEEN services, heap after GC ${HEAP_IDLE} MB"

mkfifo "$WORK/go"
"$JAVA" -Xmx2g -cp "$CP" "$FLEET" "$XDS_PORT" "$CLIENTS" "$CONFIG" "$ROUNDS" "$WARMUP" < "$WORK/go" > "$WORK/fleet.out" \
  2> "$WORK/fleet.err" &
FLEET_PID=$!
exec 3> "$WORK/go"
until grep -q -E '^(READY|fleet error)' "$WORK/fleet.out"; do
  kill -0 "$FLEET_PID" 2>/dev/null || { cat "$WORK/fleet.out" "$WORK/fleet.err"; exit 1; }
  sleep 0.5
done
grep -q '^fleet error' "$WORK/fleet.out" && { cat "$WORK/fleet.out"; tail -n 20 "$WORK/fleet.err"; exit 1; }
CONNECTED=$(http_get /q/metrics | awk '/^pilot_xds / { printf "%d", $2 }')
HEAP_CONNECTED=$(heap_mb)
# pilot's CPU (user + system, clock ticks) over the measured rounds; the fleet reports its own.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
sys_ticks() { awk '{ print $15 }' "/proc/$1/stat"; }
minor_faults() { awk '{ print $10 }' "/proc/$1/stat"; }
PILOT_TICKS0=$(cpu_ticks "$PILOT_PID")
PILOT_FAULTS0=$(minor_faults "$PILOT_PID")
PILOT_SYS0=$(sys_ticks "$PILOT_PID")
# PILOT_PROFILE=FILE.jfr records pilot with JFR over the measured rounds only (not startup or the initial sync).
[[ -n "${PILOT_PROFILE:-}" ]] && "$JCMD" "$PILOT_PID" JFR.start name=rounds settings=profile filename="$PILOT_PROFILE" > /dev/null
echo go >&3
wait "$FLEET_PID"
[[ -n "${PILOT_PROFILE:-}" ]] && "$JCMD" "$PILOT_PID" JFR.stop name=rounds > /dev/null
PILOT_FAULTS=$(( $(minor_faults "$PILOT_PID") - PILOT_FAULTS0 ))
PILOT_SYS_S=$(awk -v a="$PILOT_SYS0" -v b="$(sys_ticks "$PILOT_PID")" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", (b - a) / hz }')
PILOT_CPU_S=$(awk -v a="$PILOT_TICKS0" -v b="$(cpu_ticks "$PILOT_PID")" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", (b - a) / hz }')
FLEET_PID=""
exec 3>&-
cat "$WORK/fleet.out"
SUMMARY=$(grep '^fleet ' "$WORK/fleet.out" | tail -n 1)
value() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" <<< "$SUMMARY"; }
CONV_P50=$(value convergence_p50_ms); CONV_P99=$(value convergence_p99_ms)
EDS_P50=$(value eds_p50_ms); EDS_P99=$(value eds_p99_ms); SYNC_S=$(value sync_s)
FLEET_CPU_S=$(value fleet_cpu_s); MEASURE_WALL_S=$(value measure_wall_s)
PER_CONN_KB=$(( (HEAP_CONNECTED - HEAP_IDLE) * 1024 / (CLIENTS > 0 ? CLIENTS : 1) ))
PUSHES=$(http_get /q/metrics | grep -E '^pilot_xds_pushes_total' || true)
REJECTS=$(http_get /q/metrics | grep -E '^pilot_total_xds_rejects' || echo "none")
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
LAST="pilot clients=$CLIENTS services=$SERVICES convergence_p99_ms=$CONV_P99 eds_p99_ms=$EDS_P99 heap_mb=$HEAP_CONNECTED"

mkdir -p "$(dirname "$RESULTS")"
cat > "$RESULTS" <<MD
# pilot: push path under a simulated fleet

Run: $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores, $("$JAVA" -version 2>&1 | head -n 1).
Load average before / after: $LOAD_BEFORE / $LOAD_AFTER (the machine is shared; other builds may run).

- pilot: packaged JVM app, local mode, \`$PILOT_JVM ${PILOT_JAVA_OPTS:-}\`, debounce 100 ms / 10 s.
- Mesh: $SERVICES ServiceEntries (pilot counted $SERVICES_SEEN), 5 endpoints each, one VirtualService.
- Fleet: $CLIENTS sidecar-like ADS streams (SotW) in a separate JVM, over a few shared HTTP/2 connections
  (bench/pilot/PilotFleet.java). Each subscribes to CDS and LDS (wildcard), then EDS for every cluster and RDS
  for every route, and ACKs every response. pilot counted $CONNECTED connected clients.
- Initial sync of the whole fleet: ${SYNC_S} s.
- Anchor: istiod needs 1 vCPU and 1.5 GB for 1000 services and 2000 sidecars (Istio 1.20 sizing).

| measurement | p50 | p99 |
|---|---|---|
| convergence: VirtualService change -> every client ACKed its new routes ($ROUNDS rounds) | ${CONV_P50} ms | ${CONV_P99} ms |
| endpoint-only change (one service's endpoints) -> every client ACKed its new EDS | ${EDS_P50} ms | ${EDS_P99} ms |

| memory (heap used after a full GC) | MB |
|---|---|
| pilot idle, no clients | $HEAP_IDLE |
| pilot with $CLIENTS clients connected | $HEAP_CONNECTED |
| per connection | ${PER_CONN_KB} KB |

CPU over the measured rounds (${MEASURE_WALL_S} s of wall time, 2 cores = $(awk -v w="$MEASURE_WALL_S" 'BEGIN { printf "%.1f", 2 * w }') core-seconds at most):
pilot ${PILOT_CPU_S} s (of which kernel ${PILOT_SYS_S} s; ${PILOT_FAULTS} minor page faults), fleet ${FLEET_CPU_S} s.

In local mode an endpoint change is a ServiceEntry edit: pilot rebuilds the snapshot, sees that only endpoints
changed and pushes EDS alone (nothing else is regenerated); after an ACK, SotW EDS carries only the changed
assignments. A VirtualService change sends every sidecar its whole route table "80" (1000 virtual hosts, about
260 KB; some 500 MB for the fleet per change), generated and packed once and shared by all 2000 streams.
The fleet runs on the same 2 cores as pilot: it receives every byte, decodes version, nonce and type, and the
resources of CDS and LDS only (skipping RDS/EDS payloads in place); its CPU is reported above.

Per change, as the fleet printed it (the first $((2 * WARMUP)) are the unmeasured warm-up):

\`\`\`
$(grep -E 'change:|warm-up|measured' "$WORK/fleet.out")
\`\`\`

Ratios to the anchor: heap $(awk -v h="$HEAP_CONNECTED" 'BEGIN { printf "%.2f", h / 1536 }') of istiod's 1.5 GB.
Goal (N=2000, M=1000): convergence p99 < 1000 ms and heap < 1024 MB.

Pushes sent (pilot_xds_pushes_total): $(tr '\n' ' ' <<< "$PUSHES")
NACKs (pilot_total_xds_rejects): $(tr '\n' ' ' <<< "$REJECTS")

$LAST
MD
echo "$LAST"
