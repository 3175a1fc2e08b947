package io.mesh.telemetry.ingest;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Bounds the request bytes that both receivers hold at once (buffered, decoding or being ingested), so memory
 * stays bounded whatever clients send. It never blocks: a request that does not fit is refused at once and the
 * receiver answers 429 / UNAVAILABLE with a retry delay, as OTLP's throttling asks.
 *
 * <p>Thread-safe: one atomic counter.
 */
public final class IngestLimiter {

    private final long capacity;
    private final AtomicLong inFlight = new AtomicLong();

    public IngestLimiter(long capacity) {
        this.capacity = capacity;
    }

    /** Reserves {@code bytes}, or returns false (and reserves nothing) when they don't fit now. */
    public boolean tryAcquire(long bytes) {
        while (true) {
            long current = inFlight.get();
            if (current + bytes > capacity) {
                return false;
            }
            if (inFlight.compareAndSet(current, current + bytes)) {
                return true;
            }
        }
    }

    public void release(long bytes) {
        inFlight.addAndGet(-bytes);
    }

    public long inFlightBytes() {
        return inFlight.get();
    }

    public long capacity() {
        return capacity;
    }
}
