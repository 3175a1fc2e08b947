package io.mesh.gateway.model;

/**
 * Envoy's access log command operators the gateway serves ({@link AccessLogFormat}); those {@code typed} render as JSON
 * numbers in a {@code json_format}. Any other name is refused when a format compiles.
 */
public enum LogOperator {
    START_TIME, REQ, RESP, TRAILER, PROTOCOL, RESPONSE_CODE(true), RESPONSE_FLAGS, RESPONSE_CODE_DETAILS,
    CONNECTION_TERMINATION_DETAILS, BYTES_RECEIVED(true), BYTES_SENT(true), DURATION(true), UPSTREAM_HOST,
    UPSTREAM_CLUSTER, UPSTREAM_CLUSTER_RAW, UPSTREAM_LOCAL_ADDRESS, UPSTREAM_TRANSPORT_FAILURE_REASON,
    DOWNSTREAM_LOCAL_ADDRESS, DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT, DOWNSTREAM_REMOTE_ADDRESS,
    DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT, REQUESTED_SERVER_NAME, ROUTE_NAME;

    final boolean typed;

LogOperator() {
        this(false);
    }

LogOperator(boolean typed) {
        this.typed = typed;
    }

    boolean takesHeader() {
        return this == REQ || this == RESP || this == TRAILER;
    }
}
