package io.mesh.telemetry.graph;

import java.util.List;

/** The service graph as the REST API serves it: live nodes and edges with stats over the window. */
public record GraphView(long windowSeconds, long generatedAtMillis, List<Node> nodes, List<Edge> edges) {

    /** {@code kind} is {@code workload}, {@code service} (an Istio destination_service) or {@code app} (a span's service.name). */
    public record Node(String id, String kind, String name, String namespace, boolean error) {
    }

    /**
     * {@code origin} says which data the stats come from: {@code metrics-destination}, {@code metrics-source}
     * or {@code traces}, the first of these that saw traffic in the window. Latencies in milliseconds, NaN as null.
     * {@code protocol} is {@code http} (requests; gRPC included) or {@code tcp} (Istio's TCP metrics: {@code rps} and
     * {@code requests} count connections opened, {@code bytesPerSecond} the bytes both ways; no errors or latency).
     */
    public record Edge(String source, String target, double rps, double errorRate, Double p50Ms, Double p99Ms,
            double requests, String origin, String protocol, Double bytesPerSecond) {
    }
}
