package io.mesh.telemetry;

import io.mesh.telemetry.forward.SpanForwarder;
import io.mesh.telemetry.graph.ServiceGraph;
import io.mesh.telemetry.graph.SpanEdges;
import io.mesh.telemetry.ingest.IngestLimiter;
import io.mesh.telemetry.ingest.OtlpGrpcReceiver;
import io.mesh.telemetry.ingest.OtlpHttpReceiver;
import io.mesh.telemetry.ingest.OtlpIngest;
import io.mesh.telemetry.ingest.ReceiverMetrics;
import io.mesh.telemetry.metrics.CumulativeStreams;
import io.mesh.telemetry.metrics.IstioCollector;
import io.mesh.telemetry.metrics.IstioMetricsIngest;
import io.mesh.telemetry.metrics.PointLabels;
import io.mesh.telemetry.metrics.SeriesTable;
import io.mesh.telemetry.traces.TraceStore;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.prometheus.PrometheusMeterRegistry;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.vertx.core.Vertx;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Builds telemetry's parts from {@link TelemetryConfig} and wires them together. The parts are plain classes
 * (config passed in, testable without Quarkus); this is the only place that knows how they connect.
 */
@Singleton
class TelemetryBeans {

    /** Recent spans and waiting children remembered to pair calls across services (each map; ~150 B an entry). */
    private static final int SPAN_EDGE_MEMORY = 20_000;

    @Produces
    @Singleton
    TraceStore traceStore(TelemetryConfig config, MeterRegistry registry) {
        TraceStore store = new TraceStore(config.traces().maxSpans(), config.traces().maxBytes());
        Gauge.builder("telemetry.trace.store.spans", store, TraceStore::spanCount)
                .description("Spans held in the trace store").register(registry);
        Gauge.builder("telemetry.trace.store.bytes", store, TraceStore::bytes).baseUnit("bytes")
                .description("Estimated bytes held in the trace store").register(registry);
        FunctionCounter.builder("telemetry.trace.store.evicted.spans", store, TraceStore::evictedSpans)
                .description("Spans evicted from the trace store, oldest first").register(registry);
        return store;
    }

    @Produces
    @Singleton
    ServiceGraph serviceGraph(TelemetryConfig config, MeterRegistry registry) {
        ServiceGraph graph = new ServiceGraph((int) Math.max(1, config.graph().window().toSeconds()),
                config.graph().maxEdges(), System::currentTimeMillis);
        FunctionCounter.builder("telemetry.graph.ignored.edges", graph, ServiceGraph::ignoredEdges)
                .description("Traffic on new graph edges ignored because the edge limit was reached")
                .register(registry);
        return graph;
    }

    @Produces
    @Singleton
    SeriesTable seriesTable(TelemetryConfig config, MeterRegistry registry, PrometheusMeterRegistry prometheus) {
        SeriesTable table = new SeriesTable(config.metrics().maxSeries(), metric -> Counter
                .builder("telemetry.series.overflow").tag("metric", metric.family())
                .description("Data points dropped because the Istio series limit was reached")
                .register(registry).increment());
        Gauge.builder("telemetry.series", table, SeriesTable::size)
                .description("Istio series served on /q/metrics").register(registry);
        Gauge.builder("telemetry.series.limit", table, SeriesTable::maxSeries)
                .description("The most Istio series served at once").register(registry);
        prometheus.getPrometheusRegistry().register(new IstioCollector(table));
        return table;
    }

    @Produces
    @Singleton
    IstioMetricsIngest istioMetrics(TelemetryConfig config, SeriesTable table, ServiceGraph graph,
            MeterRegistry registry) {
        CumulativeStreams streams = new CumulativeStreams(config.metrics().maxStreams());
        Gauge.builder("telemetry.cumulative.streams", streams, CumulativeStreams::size)
                .description("Cumulative OTLP streams remembered to compute deltas").register(registry);
        return new IstioMetricsIngest(table, streams, graph,
                new PointLabels(config.metrics().maxExtraLabels(), config.metrics().maxLabelValueLength()));
    }

    @Produces
    @Singleton
    Optional<SpanForwarder> forwarder(TelemetryConfig config, MeterRegistry registry) {
        TelemetryConfig.Forward forward = config.forward();
        return forward.endpoint().map(endpoint -> new SpanForwarder(endpoint, forward.queueCapacity(), forward.queueMaxBytes(),
                forward.maxAttempts(), forward.initialBackoff(), forward.maxBackoff(), forward.timeout(),
                duration -> Thread.sleep(duration.toMillis()), registry));
    }

    @Produces
    @Singleton
    OtlpIngest ingest(TraceStore store, ServiceGraph graph, IstioMetricsIngest metrics,
            Optional<SpanForwarder> forwarder, MeterRegistry registry) {
        Consumer<ExportTraceServiceRequest> forward = forwarder.<Consumer<ExportTraceServiceRequest>>map(f -> f)
                .orElse(request -> { });
        return new OtlpIngest(store, new SpanEdges(graph, SPAN_EDGE_MEMORY), metrics, forward, registry);
    }

    @Produces
    @Singleton
    IngestLimiter limiter(TelemetryConfig config, MeterRegistry registry) {
        IngestLimiter limiter = new IngestLimiter(config.limits().maxInFlightBytes());
        Gauge.builder("telemetry.ingest.inflight.bytes", limiter, IngestLimiter::inFlightBytes).baseUnit("bytes")
                .description("OTLP request bytes being received or ingested").register(registry);
        return limiter;
    }

    @Produces
    @Singleton
    ReceiverMetrics receiverMetrics(MeterRegistry registry) {
        return new ReceiverMetrics(registry);
    }

    @Produces
    @Singleton
    OtlpGrpcReceiver grpcReceiver(TelemetryConfig config, OtlpIngest ingest, IngestLimiter limiter,
            ReceiverMetrics metrics) {
        return new OtlpGrpcReceiver(ingest, limiter, metrics, config.limits().maxRequestBytes(),
                config.limits().retryAfter());
    }

    @Produces
    @Singleton
    OtlpHttpReceiver httpReceiver(TelemetryConfig config, Vertx vertx, OtlpIngest ingest, IngestLimiter limiter,
            ReceiverMetrics metrics) {
        return new OtlpHttpReceiver(vertx, ingest, limiter, metrics, config.limits().maxRequestBytes(),
                config.limits().retryAfter());
    }
}
