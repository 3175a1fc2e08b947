package io.mesh.telemetry.metrics;

import java.util.List;

/** Sees the increments of Istio's request and TCP series as they are ingested (the service graph listens). */
public interface TrafficObserver {

    /** {@code labels} follow {@link Labels#HTTP}. */
    void requests(List<String> labels, double count);

    /** Per-bucket duration counts over {@link Buckets#DURATION_MS} plus +Inf. */
    void durations(List<String> labels, long[] counts);

    /** TCP connections opened; {@code labels} follow {@link Labels#TCP}. */
    default void tcpConnections(List<String> labels, double opened) {
    }

    /** TCP bytes, either way (Istio's sent and received bytes); {@code labels} follow {@link Labels#TCP}. */
    default void tcpBytes(List<String> labels, double bytes) {
    }

    TrafficObserver NONE = new TrafficObserver() {
        @Override
        public void requests(List<String> labels, double count) {
        }

        @Override
        public void durations(List<String> labels, long[] counts) {
        }
    };
}
