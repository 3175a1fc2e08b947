package io.mesh.telemetry;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.time.Duration;
import java.util.Optional;

/**
 * Every setting of telemetry, under {@code mesh.telemetry.*}. Environment variables override
 * ({@code MESH_TELEMETRY_MONITORING_PORT}, {@code MESH_TELEMETRY_OTLP_GRPC_PORT}, ...). Defaults live only here,
 * and the memory bounds are sized so that all of them together fit the local runner's 128 MiB heap.
 */
@ConfigMapping(prefix = "mesh.telemetry")
public interface TelemetryConfig {

    /** The Quarkus HTTP port serving /q/health, /q/metrics, the query API (/api/*) and the graph page (/graph/). */
    @WithDefault("15014")
    int monitoringPort();

    /** OTLP/gRPC (Istio and OpenTelemetry use 4317). 0 binds a free port (tests). */
    @WithDefault("4317")
    int otlpGrpcPort();

    /** OTLP/HTTP, protobuf and JSON (4318). 0 binds a free port (tests). */
    @WithDefault("4318")
    int otlpHttpPort();

    /** The address the OTLP receivers bind; when unset, the same host as the monitoring port (quarkus.http.host). */
    Optional<String> otlpHost();

    /** Ingestion limits shared by both receivers. */
    Limits limits();

    /** Istio's standard series built from proxies' OTLP metrics. */
    Metrics metrics();

    /** The in-memory trace store. */
    Traces traces();

    /** The live service graph. */
    Graph graph();

    /** Optional forwarding of received spans to an upstream OTLP/gRPC collector. */
    Forward forward();

    interface Limits {
        /** Largest accepted export request, after decompression; larger gets 413 / RESOURCE_EXHAUSTED. */
        @WithDefault("4194304")
        int maxRequestBytes();

        /**
         * Request bytes being received, decoded and ingested at once; beyond it requests get 429 / UNAVAILABLE.
         * Decoded messages take a few times their wire size, so this is kept well below the heap.
         */
        @WithDefault("8388608")
        long maxInFlightBytes();

        /** The retry delay told to throttled clients (Retry-After, RetryInfo). */
        @WithDefault("1s")
        Duration retryAfter();
    }

    interface Metrics {
        /** Istio series (one label set of one family) kept at most; new ones past it are counted and dropped. */
        @WithDefault("10000")
        int maxSeries();

        /** Cumulative OTLP streams whose last value is remembered to compute deltas (least recent evicted). */
        @WithDefault("10000")
        int maxStreams();

        /**
         * Label names besides Istio's (a Telemetry's upserted tags) admitted per family, first come, for good; a point
         * with another one is refused and counted. With {@link #maxLabelValueLength()} it bounds what extra labels
         * add to each of {@link #maxSeries()} series.
         */
        @WithDefault("8")
        int maxExtraLabels();

        /** Characters of an extra label's name and value at most; a point with a longer one is refused and counted. */
        @WithDefault("128")
        int maxLabelValueLength();
    }

    interface Traces {
        /** Spans kept at most; the oldest are evicted first. */
        @WithDefault("50000")
        int maxSpans();

        /** Estimated bytes of stored spans at most; the oldest are evicted first. */
        @WithDefault("16777216")
        long maxBytes();
    }

    interface Graph {
        /** The sliding window over which rps, error rate and p50/p99 are computed. */
        @WithDefault("60s")
        Duration window();

        /** Edges kept at most; traffic on new edges past it is ignored (and counted). */
        @WithDefault("2000")
        int maxEdges();
    }

    interface Forward {
        /** Upstream OTLP/gRPC endpoint, {@code host:port}; unset disables forwarding. */
        Optional<String> endpoint();

        /** Export requests waiting to be forwarded at most; past it they are dropped and counted. */
        @WithDefault("1000")
        int queueCapacity();

        /** Wire bytes of the queued requests at most (decoded, they take a few times more heap). */
        @WithDefault("8388608")
        long queueMaxBytes();

        /** Attempts per request, the first included, before it is dropped and counted. */
        @WithDefault("5")
        int maxAttempts();

        @WithDefault("200ms")
        Duration initialBackoff();

        @WithDefault("10s")
        Duration maxBackoff();

        /** Deadline of one forwarding call. */
        @WithDefault("5s")
        Duration timeout();
    }
}
