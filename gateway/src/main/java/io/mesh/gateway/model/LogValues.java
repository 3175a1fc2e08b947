package io.mesh.gateway.model;

import java.time.Instant;

/**
 * What Envoy's access log command operators read of one finished request or relayed connection
 * ({@link AccessLogFormat} renders them). A value the request or connection does not have is null (the format writes
 * Envoy's {@code -}, or a JSON null); a TCP connection has no headers, protocol, route nor response code (0). Read only
 * when a line is written, never on the request path.
 */
public interface LogValues {
    Instant startTime();

    /** A request header (lower-case name), or {@code :method}, {@code :path}, {@code :authority}, {@code :scheme}. */
    String requestHeader(String name);

    /** A response header as sent downstream (lower-case name). */
    String responseHeader(String name);

    /** A response trailer (lower-case name). */
    String responseTrailer(String name);

    /** {@code HTTP/1.1}, {@code HTTP/2}, ...; null on a TCP connection. */
    String protocol();

    /** The response code sent downstream; 0 without one (a TCP connection), as Envoy's. */
    int responseCode();

    /** Envoy's short response flags, {@code -} for none. */
    String responseFlags();

    String responseCodeDetails();

    String connectionTerminationDetails();

    long bytesReceived();

    long bytesSent();

    long durationMillis();

    /** Milliseconds from the start to the upstream response's first byte; null without one, and on a TCP connection. */
    Long responseDurationMillis();

    /** Milliseconds from the upstream response's first byte to the end; null without one, and on a TCP connection. */
    Long responseTxDurationMillis();

    /** How many times the request (or a TCP connection) was tried upstream; 0 when it never was. */
    int upstreamAttempts();

    /**
     * A gRPC request's status: its grpc-status (trailers, else headers), else its HTTP status mapped as Envoy's
     * httpToGrpcStatus; null for a request that is not gRPC, and on a TCP connection.
     */
    Integer grpcStatus();

    /** The dynamic metadata a filter wrote under {@code namespace} (e.g. {@code envoy.filters.http.jwt_authn}), or null. */
    java.util.Map<String, Object> dynamicMetadata(String namespace);

    /** The upstream's {@code host:port}. */
    String upstreamHost();

    String upstreamCluster();

    /** This proxy's end of the upstream connection, {@code host:port}. */
    String upstreamLocalAddress();

    String upstreamTransportFailureReason();

    /** This proxy's end of the downstream connection (a captured connection's original destination), {@code host:port}. */
    String downstreamLocalAddress();

    String downstreamRemoteAddress();

    String requestedServerName();

    String routeName();

    /**
     * Envoy's {@code %CONNECTION_ID%} of the downstream connection (the TCP connection's own): unique and increasing
     * in this process; null when unknown.
     */
    Long connectionId();

    /** The downstream connection's TLS, or null: plaintext (Envoy's TLS operators then print {@code -}). */
    ConnectionTls downstreamTls();

    /** The TLS of the upstream connection that answered, or null: plaintext, or no upstream connection. */
    ConnectionTls upstreamTls();

    /** The upstream connection's protocol ({@code HTTP/1.1}, {@code HTTP/2}), or null: none, or a TCP connection. */
    String upstreamProtocol();
}
