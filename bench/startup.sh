#!/usr/bin/env bash
# bench/startup.sh [RUNS]: time-to-ready and resident memory of each component in JVM mode.
#
# Each run starts every component once, one at a time, with the local runner's JVM flags
# (MESH_JAVA_OPTS in deploy/local/mesh.env), and measures:
#   ready_ms  from the exec of `java` to the first 200 from /q/health/ready;
#   rss_mb    VmRSS two seconds after it became ready.
# The anchor, measured in the same runs with the same flags, is the plainest JVM HTTP server there is:
# the demo backend (the JDK's built-in HttpServer), from exec to its first 200.
# Medians of RUNS (default 5) go to bench/results/startup.md; the last line printed and written is
#   startup max_ready_ms=<n> max_rss_mb=<n>
# Goal (reported, never asserted): every component ready in under 2 s and under 150 MB RSS.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=${1:-5}
COMPONENTS=(pilot citadel gateway injector telemetry)
RESULTS="$ROOT/bench/results/startup.md"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# The runner's JVM flags, so the numbers describe what ./mesh up runs.
MESH_JAVA_OPTS=${MESH_JAVA_OPTS:-$(sed -n 's/^MESH_JAVA_OPTS="\(.*\)"$/\1/p' "$ROOT/deploy/local/mesh.env")}
JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java

missing=()
for c in "${COMPONENTS[@]}"; do
  [[ -f "$ROOT/$c/target/quarkus-app/quarkus-run.jar" ]] || missing+=("$c")
done
if (( ${#missing[@]} > 0 )); then
  (cd "$ROOT" && ./mvnw -B -q package -DskipTests -pl "$(IFS=,; echo "${missing[*]}")" -am)
fi
javac -d "$WORK/anchor" "$ROOT/deploy/local/demo/EchoServer.java"

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

http_ok() {
  local code
  code=$( (exec 3<>"/dev/tcp/127.0.0.1/$1" && printf 'GET %s HTTP/1.0\r\n\r\n' "$2" >&3 && read -r -t 2 _ c _ <&3 && printf '%s' "$c") 2>/dev/null || true)
  [[ "$code" == 200 ]]
}

free_port() {
  local port
  while :; do
    port=$(( 20000 + RANDOM % 12000 ))  # below the ephemeral range, so no outgoing connection holds it
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
  done
}

rss_mb() { awk '/^VmRSS:/ {printf "%d", $2 / 1024}' "/proc/$1/status"; }

# measure NAME PATH PORT COMMAND... -> prints "ready_ms rss_mb"
measure() {
  local name=$1 path=$2 port=$3; shift 3
  local start pid ready
  start=$(now_ms)
  "$@" > "$WORK/$name.log" 2>&1 &
  pid=$!
  until http_ok "$port" "$path"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "bench: $name exited before it was ready:" >&2; tail -20 "$WORK/$name.log" >&2; exit 1
    fi
    if (( $(now_ms) - start > 60000 )); then
      echo "bench: $name not ready after 60 s" >&2; kill -9 "$pid"; exit 1
    fi
    sleep 0.01
  done
  ready=$(( $(now_ms) - start ))
  sleep 2
  local rss
  rss=$(rss_mb "$pid")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  echo "$ready $rss"
}

median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print int((a[NR/2]+a[NR/2+1])/2)}'; }

declare -A READY RSS
for (( run=1; run<=RUNS; run++ )); do
  port=$(free_port)
  # shellcheck disable=SC2086
  read -r r m < <(measure anchor / "$port" "$JAVA" $MESH_JAVA_OPTS -cp "$WORK/anchor" EchoServer anchor "$port")
  READY[anchor]+="$r "; RSS[anchor]+="$m "
  for c in "${COMPONENTS[@]}"; do
    port=$(free_port)
    upper=$(tr '[:lower:]' '[:upper:]' <<< "$c")
    extra_var="MESH_JAVA_OPTS_$upper"
    extra=${!extra_var:-$(sed -n "s/^MESH_JAVA_OPTS_$upper=\"\(.*\)\"$/\1/p" "$ROOT/deploy/local/mesh.env")}
    # shellcheck disable=SC2086
    read -r r m < <(measure "$c" /q/health/ready "$port" env "MESH_${upper}_MONITORING_PORT=$port" \
      QUARKUS_HTTP_HOST=127.0.0.1 MESH_MODE=local "MESH_${upper}_STATE_DIR=$WORK/state/$c" \
      "$JAVA" $MESH_JAVA_OPTS $extra -jar "$ROOT/$c/target/quarkus-app/quarkus-run.jar")
    READY[$c]+="$r "; RSS[$c]+="$m "
  done
  echo "run $run/$RUNS done" >&2
done

anchor_ready=$(tr ' ' '\n' <<< "${READY[anchor]}" | grep . | median)
anchor_rss=$(tr ' ' '\n' <<< "${RSS[anchor]}" | grep . | median)
max_ready=0; max_rss=0
{
  echo "# Startup: time-to-ready and RSS, JVM mode"
  echo
  echo "Measured by \`bench/startup.sh $RUNS\` on $(date -u +%Y-%m-%d) ($(nproc) cores, $("$JAVA" -version 2>&1 | sed -n 1p))."
  echo "JVM flags (the local runner's): \`$MESH_JAVA_OPTS\`. Medians of $RUNS runs; min-max in brackets."
  echo "Anchor: the JDK's built-in HttpServer (the demo backend) started the same way, exec to first 200."
  echo
  echo "| process | ready ms | ready vs anchor | RSS MB (2 s after ready) |"
  echo "|---|---|---|---|"
  for c in anchor "${COMPONENTS[@]}"; do
    values=$(tr ' ' '\n' <<< "${READY[$c]}" | grep .)
    rvalues=$(tr ' ' '\n' <<< "${RSS[$c]}" | grep .)
    r=$(median <<< "$values"); m=$(median <<< "$rvalues")
    ratio=$(awk -v a="$r" -v b="$anchor_ready" 'BEGIN {printf "%.1fx", a / b}')
    echo "| $c | $r [$(sort -n <<< "$values" | head -1)-$(sort -n <<< "$values" | tail -1)] | $ratio | $m [$(sort -n <<< "$rvalues" | head -1)-$(sort -n <<< "$rvalues" | tail -1)] |"
    if [[ $c != anchor ]]; then
      (( r > max_ready )) && max_ready=$r
      (( m > max_rss )) && max_rss=$m
    fi
  done
  echo
  echo "Goal: every component ready in under 2000 ms and under 150 MB RSS."
  echo
  echo "startup max_ready_ms=$max_ready max_rss_mb=$max_rss"
} > "$RESULTS"
cat "$RESULTS"
