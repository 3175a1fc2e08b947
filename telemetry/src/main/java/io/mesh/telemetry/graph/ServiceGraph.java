package io.mesh.telemetry.graph;

import io.mesh.telemetry.metrics.Buckets;
import io.mesh.telemetry.metrics.Labels;
import io.mesh.telemetry.metrics.TrafficObserver;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * The live service graph: edges between workloads, services and apps, each with a sliding window of requests,
 * errors and latency, fed by Istio's request metrics (as a {@link TrafficObserver}) and by spans (through
 * {@link SpanEdges}); and TCP edges, kept apart from HTTP ones between the same nodes, with connections opened and
 * bytes from Istio's TCP metrics. It owns edges only; nodes are derived from live edges. An edge idle for a whole window is
 * dropped, and at most {@code maxEdges} exist at once (traffic on more is counted and ignored).
 *
 * <p>Thread-safety: a concurrent map of edges, each window with its own monitor.
 */
public final class ServiceGraph implements TrafficObserver {

    enum Origin {
        METRICS_DESTINATION("metrics-destination"), METRICS_SOURCE("metrics-source"), TRACES("traces");

        final String label;

        Origin(String label) {
            this.label = label;
        }
    }

    private record EdgeKey(GraphView.Node source, GraphView.Node target, boolean tcp) {
    }

    private final class EdgeState {
        final Map<Origin, EdgeWindow> windows = new EnumMap<>(Origin.class);
        final long firstSecond;
        volatile long lastSecond;

        EdgeState(long firstSecond) {
            this.firstSecond = firstSecond;
            this.lastSecond = firstSecond;
        }

        synchronized EdgeWindow window(Origin origin) {
            return windows.computeIfAbsent(origin, o -> new EdgeWindow(windowSeconds));
        }

        synchronized Map<Origin, EdgeWindow> snapshot() {
            return new EnumMap<>(windows);
        }
    }

    private static final int REPORTER = Labels.HTTP.indexOf("reporter");
    private static final int SOURCE_WORKLOAD = Labels.HTTP.indexOf("source_workload");
    private static final int SOURCE_NAMESPACE = Labels.HTTP.indexOf("source_workload_namespace");
    private static final int DESTINATION_WORKLOAD = Labels.HTTP.indexOf("destination_workload");
    private static final int DESTINATION_NAMESPACE = Labels.HTTP.indexOf("destination_workload_namespace");
    private static final int DESTINATION_SERVICE = Labels.HTTP.indexOf("destination_service");
    private static final int RESPONSE_CODE = Labels.HTTP.indexOf("response_code");
    private static final int GRPC_STATUS = Labels.HTTP.indexOf("grpc_response_status");

    private final int windowSeconds;
    private final int maxEdges;
    private final LongSupplier clockMillis;
    private final Map<EdgeKey, EdgeState> edges = new ConcurrentHashMap<>();
    private final AtomicLong ignored = new AtomicLong();

    public ServiceGraph(int windowSeconds, int maxEdges, LongSupplier clockMillis) {
        if (windowSeconds < 1) {
            throw new IllegalArgumentException("the graph window must be at least one second");
        }
        this.windowSeconds = windowSeconds;
        this.maxEdges = maxEdges;
        this.clockMillis = clockMillis;
    }

    @Override
    public void requests(List<String> labels, double count) {
        boolean error = isError(labels.get(RESPONSE_CODE), labels.get(GRPC_STATUS));
        long now = nowSecond();
        for (EdgeKey key : metricEdges(labels, false)) {
            EdgeWindow window = window(key, origin(labels), now);
            if (window != null) {
                window.record(now, count, error ? count : 0);
            }
        }
    }

    @Override
    public void tcpConnections(List<String> labels, double opened) {
        long now = nowSecond();
        for (EdgeKey key : metricEdges(labels, true)) {
            EdgeWindow window = window(key, origin(labels), now);
            if (window != null) {
                window.record(now, opened, 0);
            }
        }
    }

    @Override
    public void tcpBytes(List<String> labels, double bytes) {
        long now = nowSecond();
        for (EdgeKey key : metricEdges(labels, true)) {
            EdgeWindow window = window(key, origin(labels), now);
            if (window != null) {
                window.bytes(now, bytes);
            }
        }
    }

    @Override
    public void durations(List<String> labels, long[] counts) {
        long now = nowSecond();
        for (EdgeKey key : metricEdges(labels, false)) {
            EdgeWindow window = window(key, origin(labels), now);
            if (window != null) {
                window.latency(now, counts);
            }
        }
    }

    /** One call from {@code source} to {@code target}, seen in spans. */
    public void spanCall(String source, String target, long durationNanos, boolean error) {
        long now = nowSecond();
        EdgeKey key = new EdgeKey(new GraphView.Node("app:" + source, "app", source, "", false),
                new GraphView.Node("app:" + target, "app", target, "", false), false);
        EdgeWindow window = window(key, Origin.TRACES, now);
        if (window != null) {
            window.record(now, 1, error ? 1 : 0);
            long[] latency = new long[EdgeWindow.LATENCY_BOUNDS_MS.length + 1];
            latency[EdgeWindow.latencyIndex(durationNanos / 1e6)] = 1;
            window.latency(now, latency);
        }
    }

    /** The graph now: edges with traffic in the window, and their nodes. */
    public GraphView view() {
        long now = nowSecond();
        edges.values().removeIf(state -> state.lastSecond <= now - windowSeconds);
        Map<String, GraphView.Node> nodes = new LinkedHashMap<>();
        List<GraphView.Edge> views = new ArrayList<>();
        for (Map.Entry<EdgeKey, EdgeState> entry : edges.entrySet()) {
            GraphView.Edge edge = edgeView(entry.getKey(), entry.getValue(), now);
            if (edge == null) {
                continue;
            }
            views.add(edge);
            nodes.putIfAbsent(entry.getKey().source().id(), entry.getKey().source());
            GraphView.Node target = entry.getKey().target();
            GraphView.Node known = nodes.get(target.id());
            boolean error = edge.errorRate() > 0 || known != null && known.error();
            nodes.put(target.id(), new GraphView.Node(target.id(), target.kind(), target.name(), target.namespace(),
                    error));
        }
        views.sort(Comparator.comparing(GraphView.Edge::source).thenComparing(GraphView.Edge::target));
        List<GraphView.Node> nodeList = new ArrayList<>(nodes.values());
        nodeList.sort(Comparator.comparing(GraphView.Node::id));
        return new GraphView(windowSeconds, clockMillis.getAsLong(), nodeList, views);
    }

    private GraphView.Edge edgeView(EdgeKey key, EdgeState state, long now) {
        Map<Origin, EdgeWindow> windows = state.snapshot();
        for (Origin origin : Origin.values()) {
            EdgeWindow window = windows.get(origin);
            if (window == null) {
                continue;
            }
            EdgeWindow.Totals totals = window.totals(now);
            // A new edge's rate is over the seconds it has existed, not the whole window.
            long seconds = Math.max(1, Math.min(windowSeconds, now - state.firstSecond + 1));
            if (key.tcp()) {
                // A long connection moves bytes in windows where none opened: either makes the edge live.
                if (totals.requests() <= 0 && totals.bytes() <= 0) {
                    continue;
                }
                return new GraphView.Edge(key.source().id(), key.target().id(), totals.requests() / seconds, 0, null,
                        null, totals.requests(), origin.label, "tcp", totals.bytes() / seconds);
            }
            if (totals.requests() <= 0) {
                continue;
            }
            double p50 = Buckets.quantile(EdgeWindow.LATENCY_BOUNDS_MS, totals.latency(), 0.5);
            double p99 = Buckets.quantile(EdgeWindow.LATENCY_BOUNDS_MS, totals.latency(), 0.99);
            return new GraphView.Edge(key.source().id(), key.target().id(), totals.requests() / seconds,
                    totals.errors() / totals.requests(), Double.isNaN(p50) ? null : p50,
                    Double.isNaN(p99) ? null : p99, totals.requests(), origin.label, "http", null);
        }
        return null;
    }

    public long ignoredEdges() {
        return ignored.get();
    }

    private EdgeWindow window(EdgeKey key, Origin origin, long now) {
        EdgeState state = edges.get(key);
        if (state == null) {
            if (edges.size() >= maxEdges) {
                ignored.incrementAndGet();
                return null;
            }
            state = edges.computeIfAbsent(key, k -> new EdgeState(now));
        }
        state.lastSecond = now;
        return state.window(origin);
    }

    /** The edges of a series: its peer labels come first in both the HTTP and the TCP label lists. */
    private static List<EdgeKey> metricEdges(List<String> labels, boolean tcp) {
        GraphView.Node source = workload(labels.get(SOURCE_WORKLOAD), labels.get(SOURCE_NAMESPACE));
        String serviceName = labels.get(DESTINATION_SERVICE);
        GraphView.Node destination = workload(labels.get(DESTINATION_WORKLOAD), labels.get(DESTINATION_NAMESPACE));
        if (Labels.UNKNOWN.equals(serviceName)) {
            return List.of(new EdgeKey(source, destination, tcp));
        }
        GraphView.Node service = new GraphView.Node("service:" + serviceName, "service", serviceName, "", false);
        if (Labels.UNKNOWN.equals(destination.name())) {
            return List.of(new EdgeKey(source, service, tcp));
        }
        return List.of(new EdgeKey(source, service, tcp), new EdgeKey(service, destination, tcp));
    }

    private static GraphView.Node workload(String name, String namespace) {
        String ns = Labels.UNKNOWN.equals(namespace) ? "" : namespace;
        String id = "workload:" + (ns.isEmpty() ? "" : ns + "/") + name;
        return new GraphView.Node(id, "workload", name, ns, false);
    }

    private static Origin origin(List<String> labels) {
        return "source".equals(labels.get(REPORTER)) ? Origin.METRICS_SOURCE : Origin.METRICS_DESTINATION;
    }

    /** Istio's error: a 5xx response, or a gRPC status other than OK. */
    static boolean isError(String responseCode, String grpcStatus) {
        if (responseCode.length() == 3 && responseCode.charAt(0) == '5') {
            return true;
        }
        return !grpcStatus.equals(Labels.UNKNOWN) && !grpcStatus.isEmpty() && !grpcStatus.equals("0");
    }

    private long nowSecond() {
        return Math.floorDiv(clockMillis.getAsLong(), 1000L);
    }
}
