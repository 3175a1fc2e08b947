package io.mesh.citadel.ca;

/**
 * A refused certificate request, typed by why it was refused. The server maps each {@link Reason} to one gRPC
 * status code. Messages name the problem and never carry a token, a key or a certificate.
 */
public final class CaException extends Exception {

    /** Why a request was refused; each maps to exactly one gRPC status. */
    public enum Reason {
        /** The CSR is malformed, badly signed or has a weak key: INVALID_ARGUMENT. */
        INVALID_REQUEST,
        /** The caller proved no identity: UNAUTHENTICATED. */
        UNAUTHENTICATED,
        /** The caller asked for an identity it did not prove: PERMISSION_DENIED. */
        PERMISSION_DENIED,
        /** The CA cannot issue right now (no valid issuer, token reviewer down): UNAVAILABLE. */
        UNAVAILABLE
    }

    private final Reason reason;

    public CaException(Reason reason, String message) {
        super(message, null, false, false);
        this.reason = reason;
    }

    public CaException(Reason reason, String message, Throwable cause) {
        super(message, cause, false, false);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }

    public static CaException invalid(String message) {
        return new CaException(Reason.INVALID_REQUEST, message);
    }

    public static CaException unauthenticated(String message) {
        return new CaException(Reason.UNAUTHENTICATED, message);
    }
}
