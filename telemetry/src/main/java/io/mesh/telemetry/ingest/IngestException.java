package io.mesh.telemetry.ingest;

/**
 * Why an export request was refused, in terms both transports map: {@link Reason#MALFORMED} is 400 /
 * INVALID_ARGUMENT, {@link Reason#TOO_LARGE} is 413 / RESOURCE_EXHAUSTED, {@link Reason#OVERLOADED} is 429 /
 * UNAVAILABLE with a retry delay.
 */
public final class IngestException extends RuntimeException {

    public enum Reason { MALFORMED, TOO_LARGE, OVERLOADED }

    private final Reason reason;

    public IngestException(Reason reason, String message) {
        super(message, null, false, false);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
