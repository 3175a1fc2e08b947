#!/usr/bin/env bash
# gateway-profile.sh - where the gateway's CPU goes: JFR execution samples of the packaged gateway under
# wrk -c64 against the same nginx backend as bench/gateway.sh, summarized as the top frames (self time)
# and the top packages. Prints to stdout; bench/results/gateway.md quotes a run.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd); ROOT=$(dirname "$HERE")
APP=$ROOT/gateway/target/quarkus-app/quarkus-run.jar
[[ -f $APP ]] || (cd "$ROOT" && ./mvnw -B -q -pl gateway package -DskipTests)
WORK=$(mktemp -d -t gateway-profile.XXXXXX); DURATION=${DURATION:-20}
sed "s#@RUN@#$WORK#g" "$HERE/gateway-harness/conf/backend.conf" > "$WORK/backend.conf"; mkdir -p "$WORK/backend-tmp"
nginx -p "$WORK" -e "$WORK/backend-error.log" -c "$WORK/backend.conf" -g 'daemon off;' & NGINX=$!
sed -n '/^cat > "\$WORK\/bootstrap.json"/,/^JSON$/p' "$HERE/gateway.sh" | sed '1d;$d' > "$WORK/bootstrap.json"
MESH_GATEWAY_BOOTSTRAP_FILE=$WORK/bootstrap.json MESH_GATEWAY_XDS_ENABLED=false MESH_GATEWAY_TELEMETRY_ACCESS_LOG=false \
MESH_GATEWAY_LISTENERS_EVENT_LOOPS=1 MESH_GATEWAY_MONITORING_PORT=0 MESH_GATEWAY_STATUS_PORT=0 MESH_GATEWAY_ADMIN_PORT=-1 \
QUARKUS_HTTP_HOST=127.0.0.1 QUARKUS_HTTP_PORT=0 \
  java -Xms128m -Xmx128m -XX:+UseParallelGC -Dio.netty.buffer.checkAccessible=false -Dio.netty.buffer.checkBounds=false -Dio.netty.leakDetection.level=disabled -XX:StartFlightRecording=filename=$WORK/rec.jfr,settings=profile,delay=5s \
  -jar "$APP" > "$WORK/gateway.log" 2>&1 & GW=$!
trap 'kill $GW $NGINX 2>/dev/null || true; wait 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q "gateway ready" "$WORK/gateway.log" && break; sleep 0.2; done
wrk -t1 -c64 -d5s http://127.0.0.1:18083/ > /dev/null
wrk -t1 -c64 -d"${DURATION}s" http://127.0.0.1:18083/ | grep -E "Requests/sec|Latency"
jcmd $GW JFR.dump filename="$WORK/rec.jfr" > /dev/null
jfr print --events jdk.ExecutionSample "$WORK/rec.jfr" > "$WORK/samples.txt"
echo "== top frames (self) of $(grep -c 'jdk.ExecutionSample' "$WORK/samples.txt") samples"
awk '/stackTrace = \[/{getline; sub(/^[ \t]+/, ""); sub(/line:.*/, ""); print}' "$WORK/samples.txt" | sort | uniq -c | sort -rn | head -25
echo "== by package (self)"
awk '/stackTrace = \[/{getline; sub(/^[ \t]+/, ""); n=split($1, p, "."); s=p[1]; for(i=2;i<n-1&&i<=4;i++) s=s"."p[i]; print s}' \
  "$WORK/samples.txt" | sort | uniq -c | sort -rn | head -15
echo "== GC: $(jfr summary "$WORK/rec.jfr" | grep -E 'jdk.GarbageCollection |jdk.ObjectAllocationSample ' | tr -s ' ')"
