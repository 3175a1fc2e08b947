package io.mesh.telemetry.metrics;

import java.util.List;

/** Sees the increments of Istio's request series as they are ingested (the service graph listens). */
public interface TrafficObserver {

    /** {@code labels} follow {@link Labels#HTTP}. */
    void requests(List<String> labels, double count);

    /** Per-bucket duration counts over {@link Buckets#DURATION_MS} plus +Inf. */
    void durations(List<String> labels, long[] counts);

    TrafficObserver NONE = new TrafficObserver() {
        @Override
        public void requests(List<String> labels, double count) {
        }

        @Override
        public void durations(List<String> labels, long[] counts) {
        }
    };
}
