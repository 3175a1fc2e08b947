package io.mesh.gateway.model;

/**
 * One compiled command operator of an {@link AccessLogFormat}: a header and its alternative (REQ, RESP, TRAILER), a max
 * length (0: none), START_TIME's format. Immutable.
 */
record LogCommand(LogOperator op, String header, String alternative, int maxLength, StartTimeFormat time) {

    Object value(LogValues v) {
        Object value = switch (op) {
            case START_TIME -> time.render(v.startTime());
            case REQ -> header(v::requestHeader);
            case RESP -> header(v::responseHeader);
            case TRAILER -> header(v::responseTrailer);
            case PROTOCOL -> v.protocol();
            case RESPONSE_CODE -> (long) v.responseCode();
            case RESPONSE_FLAGS -> v.responseFlags();
            case RESPONSE_CODE_DETAILS -> v.responseCodeDetails();
            case CONNECTION_TERMINATION_DETAILS -> v.connectionTerminationDetails();
            case BYTES_RECEIVED -> v.bytesReceived();
            case BYTES_SENT -> v.bytesSent();
            case DURATION -> v.durationMillis();
            case UPSTREAM_HOST -> v.upstreamHost();
            case UPSTREAM_CLUSTER, UPSTREAM_CLUSTER_RAW -> v.upstreamCluster();
            case UPSTREAM_LOCAL_ADDRESS -> v.upstreamLocalAddress();
            case UPSTREAM_TRANSPORT_FAILURE_REASON -> v.upstreamTransportFailureReason();
            case DOWNSTREAM_LOCAL_ADDRESS -> v.downstreamLocalAddress();
            case DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT -> withoutPort(v.downstreamLocalAddress());
            case DOWNSTREAM_REMOTE_ADDRESS -> v.downstreamRemoteAddress();
            case DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT -> withoutPort(v.downstreamRemoteAddress());
            case REQUESTED_SERVER_NAME -> v.requestedServerName();
            case ROUTE_NAME -> v.routeName();
        };
        if (maxLength > 0 && value instanceof String s && s.length() > maxLength) {
            return s.substring(0, maxLength);
        }
        return value;
    }

    private String header(java.util.function.Function<String, String> headers) {
        String value = headers.apply(header);
        return value == null && alternative != null ? headers.apply(alternative) : value;
    }

    private static String withoutPort(String hostPort) {
        if (hostPort == null) {
            return null;
        }
        int colon = hostPort.lastIndexOf(':');
        String host = colon < 0 ? hostPort : hostPort.substring(0, colon);
        return host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    }
}
