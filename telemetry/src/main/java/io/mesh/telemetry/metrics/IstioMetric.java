package io.mesh.telemetry.metrics;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Istio's standard metrics: the OTLP name a proxy sends, the Prometheus family served on /q/metrics, its kind,
 * labels and histogram buckets. This table is the contract with the gateway (see telemetry/README.md).
 */
public enum IstioMetric {
    REQUESTS("istio.requests", "istio_requests", Kind.COUNTER, Labels.HTTP, null,
            "Requests handled by an Istio proxy"),
    REQUEST_DURATION("istio.request.duration", "istio_request_duration_milliseconds", Kind.HISTOGRAM, Labels.HTTP,
            Buckets.DURATION_MS, "Request duration in milliseconds"),
    REQUEST_BYTES("istio.request.bytes", "istio_request_bytes", Kind.HISTOGRAM, Labels.HTTP, Buckets.BYTES,
            "HTTP request body sizes in bytes"),
    RESPONSE_BYTES("istio.response.bytes", "istio_response_bytes", Kind.HISTOGRAM, Labels.HTTP, Buckets.BYTES,
            "HTTP response body sizes in bytes"),
    REQUEST_MESSAGES("istio.request.messages", "istio_request_messages", Kind.COUNTER, Labels.HTTP, null,
            "gRPC messages sent by clients"),
    RESPONSE_MESSAGES("istio.response.messages", "istio_response_messages", Kind.COUNTER, Labels.HTTP, null,
            "gRPC messages sent by servers"),
    TCP_SENT_BYTES("istio.tcp.sent_bytes", "istio_tcp_sent_bytes", Kind.COUNTER, Labels.TCP, null,
            "Bytes sent during responses on TCP connections"),
    TCP_RECEIVED_BYTES("istio.tcp.received_bytes", "istio_tcp_received_bytes", Kind.COUNTER, Labels.TCP, null,
            "Bytes received during requests on TCP connections"),
    TCP_CONNECTIONS_OPENED("istio.tcp.connections_opened", "istio_tcp_connections_opened", Kind.COUNTER,
            Labels.TCP, null, "TCP connections opened"),
    TCP_CONNECTIONS_CLOSED("istio.tcp.connections_closed", "istio_tcp_connections_closed", Kind.COUNTER,
            Labels.TCP, null, "TCP connections closed");

    public enum Kind { COUNTER, HISTOGRAM }

    private static final Map<String, IstioMetric> BY_OTLP_NAME = new HashMap<>();

    static {
        for (IstioMetric metric : values()) {
            BY_OTLP_NAME.put(metric.otlpName, metric);
            // Also accepted: the Prometheus names, for proxies that already name metrics Istio's way.
            BY_OTLP_NAME.put(metric.family, metric);
            if (metric.kind == Kind.COUNTER) {
                BY_OTLP_NAME.put(metric.family + "_total", metric);
            }
        }
    }

    private final String otlpName;
    private final String family;
    private final Kind kind;
    private final List<String> labels;
    private final double[] buckets;
    private final String help;

    IstioMetric(String otlpName, String family, Kind kind, List<String> labels, double[] buckets, String help) {
        this.otlpName = otlpName;
        this.family = family;
        this.kind = kind;
        this.labels = labels;
        this.buckets = buckets;
        this.help = help;
    }

    public static Optional<IstioMetric> byOtlpName(String name) {
        return Optional.ofNullable(BY_OTLP_NAME.get(name));
    }

    public String otlpName() {
        return otlpName;
    }

    /** The Prometheus family name; counters' samples add {@code _total}. */
    public String family() {
        return family;
    }

    public Kind kind() {
        return kind;
    }

    public List<String> labels() {
        return labels;
    }

    /** Upper bounds of the histogram's finite buckets (+Inf is implied); null for counters. */
    public double[] buckets() {
        return buckets;
    }

    public String help() {
        return help;
    }
}
