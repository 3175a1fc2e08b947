package io.mesh.gateway.model;

import java.util.List;
import java.util.Map;

/**
 * One compiled command operator of an {@link AccessLogFormat}: a header and its alternative (REQ, RESP, TRAILER), a max
 * length (0: none), START_TIME's format (the certificate validity operators' too), and {@code arg}: GRPC_STATUS's format (CAMEL_STRING, SNAKE_STRING or NUMBER),
 * DYNAMIC_METADATA's {@code NAMESPACE:KEY*} path, HOSTNAME's name (resolved when the format compiles). Immutable.
 */
record LogCommand(LogOperator op, String header, String alternative, int maxLength, StartTimeFormat time,
        String arg) {
    /** gRPC's status codes by number, as Envoy's GRPC_STATUS writes them (CAMEL_STRING; SNAKE_STRING upper-cased). */
    private static final List<String> GRPC_CODES = List.of("Ok", "Canceled", "Unknown", "InvalidArgument",
            "DeadlineExceeded", "NotFound", "AlreadyExists", "PermissionDenied", "ResourceExhausted",
            "FailedPrecondition", "Aborted", "OutOfRange", "Unimplemented", "Internal", "Unavailable", "DataLoss",
            "Unauthenticated");

    /** Whether the value renders as a JSON number when it is a whole {@code json_format} value. */
    boolean typed() {
        return op.typed || op == LogOperator.GRPC_STATUS && "NUMBER".equals(arg);
    }

    /**
     * The value: a String, a Long, or (DYNAMIC_METADATA) what the metadata holds there (a Map, List, String, Number or
     * Boolean); null when the request or connection has none.
     */
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
            case RESPONSE_DURATION -> v.responseDurationMillis();
            case RESPONSE_TX_DURATION -> v.responseTxDurationMillis();
            case UPSTREAM_REQUEST_ATTEMPT_COUNT -> (long) v.upstreamAttempts();
            case UPSTREAM_HOST, UPSTREAM_REMOTE_ADDRESS -> v.upstreamHost();
            case UPSTREAM_REMOTE_ADDRESS_WITHOUT_PORT -> withoutPort(v.upstreamHost());
            case UPSTREAM_REMOTE_PORT -> port(v.upstreamHost());
            case UPSTREAM_CLUSTER, UPSTREAM_CLUSTER_RAW -> v.upstreamCluster();
            case UPSTREAM_LOCAL_ADDRESS -> v.upstreamLocalAddress();
            case UPSTREAM_LOCAL_ADDRESS_WITHOUT_PORT -> withoutPort(v.upstreamLocalAddress());
            case UPSTREAM_LOCAL_PORT -> port(v.upstreamLocalAddress());
            case UPSTREAM_TRANSPORT_FAILURE_REASON -> v.upstreamTransportFailureReason();
            case DOWNSTREAM_LOCAL_ADDRESS -> v.downstreamLocalAddress();
            case DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT -> withoutPort(v.downstreamLocalAddress());
            case DOWNSTREAM_LOCAL_PORT -> port(v.downstreamLocalAddress());
            // No address is taken from x-forwarded-for or PROXY protocol here: the direct address is the remote one.
            case DOWNSTREAM_REMOTE_ADDRESS, DOWNSTREAM_DIRECT_REMOTE_ADDRESS -> v.downstreamRemoteAddress();
            case DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT, DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT ->
                    withoutPort(v.downstreamRemoteAddress());
            case DOWNSTREAM_REMOTE_PORT, DOWNSTREAM_DIRECT_REMOTE_PORT -> port(v.downstreamRemoteAddress());
            case REQUESTED_SERVER_NAME -> v.requestedServerName();
            case ROUTE_NAME -> v.routeName();
            case GRPC_STATUS -> grpcStatus(v.grpcStatus());
            case GRPC_STATUS_NUMBER -> v.grpcStatus() == null ? null : (long) v.grpcStatus();
            case HOSTNAME -> arg;
            case DYNAMIC_METADATA -> metadata(v);
            case CONNECTION_ID -> v.connectionId();
            case UPSTREAM_PROTOCOL -> v.upstreamProtocol();
            case DOWNSTREAM_PEER_URI_SAN, DOWNSTREAM_LOCAL_URI_SAN, DOWNSTREAM_PEER_DNS_SAN, DOWNSTREAM_LOCAL_DNS_SAN,
                    DOWNSTREAM_PEER_SUBJECT, DOWNSTREAM_LOCAL_SUBJECT, DOWNSTREAM_PEER_ISSUER, DOWNSTREAM_TLS_VERSION,
                    DOWNSTREAM_TLS_CIPHER, DOWNSTREAM_TLS_SESSION_ID, DOWNSTREAM_PEER_FINGERPRINT_256,
                    DOWNSTREAM_PEER_FINGERPRINT_1, DOWNSTREAM_PEER_SERIAL, DOWNSTREAM_PEER_CERT_V_START,
                    DOWNSTREAM_PEER_CERT_V_END, DOWNSTREAM_PEER_CERT -> tls(v.downstreamTls());
            case UPSTREAM_PEER_URI_SAN, UPSTREAM_LOCAL_URI_SAN, UPSTREAM_PEER_DNS_SAN, UPSTREAM_LOCAL_DNS_SAN,
                    UPSTREAM_PEER_SUBJECT, UPSTREAM_LOCAL_SUBJECT, UPSTREAM_PEER_ISSUER, UPSTREAM_TLS_VERSION,
                    UPSTREAM_TLS_CIPHER, UPSTREAM_TLS_SESSION_ID, UPSTREAM_PEER_CERT_V_START, UPSTREAM_PEER_CERT_V_END,
                    UPSTREAM_PEER_CERT -> tls(v.upstreamTls());
        };
        if (maxLength > 0 && value instanceof String s && s.length() > maxLength) {
            return s.substring(0, maxLength);
        }
        return value;
    }

    /** The value as text: a structured DYNAMIC_METADATA value as JSON (truncated to the max length), else as is. */
    String text(LogValues v) {
        Object value = value(v);
        if (value == null || value instanceof String) {
            return (String) value;
        }
        if (value instanceof Map<?, ?> || value instanceof List<?>) {
            StringBuilder sb = new StringBuilder();
            AccessLogFormat.jsonValue(sb, value);
            return maxLength > 0 && sb.length() > maxLength ? sb.substring(0, maxLength) : sb.toString();
        }
        return value.toString();
    }

    /** A TLS operator's value of one side's connection ({@code t}, null: plaintext), as Envoy's formatters print it. */
    private String tls(ConnectionTls t) {
        if (t == null) {
            return null;
        }
        return switch (op) {
            case DOWNSTREAM_PEER_URI_SAN, UPSTREAM_PEER_URI_SAN -> ConnectionTls.joined(t.peerUriSans());
            case DOWNSTREAM_LOCAL_URI_SAN, UPSTREAM_LOCAL_URI_SAN -> ConnectionTls.joined(t.localUriSans());
            case DOWNSTREAM_PEER_DNS_SAN, UPSTREAM_PEER_DNS_SAN -> ConnectionTls.joined(t.peerDnsSans());
            case DOWNSTREAM_LOCAL_DNS_SAN, UPSTREAM_LOCAL_DNS_SAN -> ConnectionTls.joined(t.localDnsSans());
            case DOWNSTREAM_PEER_SUBJECT, UPSTREAM_PEER_SUBJECT -> t.peerSubject();
            case DOWNSTREAM_LOCAL_SUBJECT, UPSTREAM_LOCAL_SUBJECT -> t.localSubject();
            case DOWNSTREAM_PEER_ISSUER, UPSTREAM_PEER_ISSUER -> t.peerIssuer();
            case DOWNSTREAM_TLS_VERSION, UPSTREAM_TLS_VERSION -> t.version();
            case DOWNSTREAM_TLS_CIPHER, UPSTREAM_TLS_CIPHER -> t.cipher();
            case DOWNSTREAM_TLS_SESSION_ID, UPSTREAM_TLS_SESSION_ID -> t.sessionId();
            case DOWNSTREAM_PEER_FINGERPRINT_256 -> t.peerSha256();
            case DOWNSTREAM_PEER_FINGERPRINT_1 -> t.peerSha1();
            case DOWNSTREAM_PEER_SERIAL -> t.peerSerial();
            case DOWNSTREAM_PEER_CERT_V_START, UPSTREAM_PEER_CERT_V_START ->
                    t.peerNotBefore() == null ? null : time.render(t.peerNotBefore());
            case DOWNSTREAM_PEER_CERT_V_END, UPSTREAM_PEER_CERT_V_END ->
                    t.peerNotAfter() == null ? null : time.render(t.peerNotAfter());
            case DOWNSTREAM_PEER_CERT, UPSTREAM_PEER_CERT -> t.peerCertificateUrlEncoded();
            default -> null;
        };
    }

    private String header(java.util.function.Function<String, String> headers) {
        String value = headers.apply(header);
        return value == null && alternative != null ? headers.apply(alternative) : value;
    }

    private Object grpcStatus(Integer status) {
        if (status == null) {
            return null;
        }
        if ("NUMBER".equals(arg)) {
            return (long) status;
        }
        if (status < 0 || status >= GRPC_CODES.size()) {
            return status.toString();
        }
        String camel = GRPC_CODES.get(status);
        return "SNAKE_STRING".equals(arg) ? snake(camel) : camel;
    }

    private static String snake(String camel) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < camel.length(); i++) {
            char c = camel.charAt(i);
            if (i > 0 && Character.isUpperCase(c)) {
                sb.append('_');
            }
            sb.append(Character.toUpperCase(c));
        }
        return sb.toString();
    }

    /** The value at {@code arg}'s path: the namespace's whole metadata, or the value under its keys; null if absent. */
    private Object metadata(LogValues v) {
        String[] path = arg.split(":");
        Object at = v.dynamicMetadata(path[0]);
        for (int i = 1; i < path.length && at != null; i++) {
            at = at instanceof Map<?, ?> m ? m.get(path[i]) : null;
        }
        return at;
    }

    private static String withoutPort(String hostPort) {
        if (hostPort == null) {
            return null;
        }
        int colon = hostPort.lastIndexOf(':');
        String host = colon < 0 ? hostPort : hostPort.substring(0, colon);
        return host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    }

    private static Long port(String hostPort) {
        if (hostPort == null) {
            return null;
        }
        int colon = hostPort.lastIndexOf(':');
        try {
            return colon < 0 ? null : Long.parseLong(hostPort.substring(colon + 1));
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
