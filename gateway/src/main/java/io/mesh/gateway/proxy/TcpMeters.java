package io.mesh.gateway.proxy;

import io.micrometer.core.instrument.Counter;

/**
 * Istio's TCP metrics of one kind of connection (reporter, cluster, peer): opened, closed, bytes each way, in the
 * registry (null counters without one) and over OTLP (null without it).
 */
record TcpMeters(Counter opened, Counter closed, Counter received, Counter sent, OtlpReporter.Tcp otlp) {
    void open() {
        if (opened != null) {
            opened.increment();
        }
        if (otlp != null) {
            otlp.opened();
        }
    }

    void close() {
        if (closed != null) {
            closed.increment();
        }
        if (otlp != null) {
            otlp.closed();
        }
    }

    /** Bytes from the downstream. */
    void received(long bytes) {
        if (received != null) {
            received.increment(bytes);
        }
        if (otlp != null) {
            otlp.received(bytes);
        }
    }

    /** Bytes to the downstream. */
    void sent(long bytes) {
        if (sent != null) {
            sent.increment(bytes);
        }
        if (otlp != null) {
            otlp.sent(bytes);
        }
    }
}
