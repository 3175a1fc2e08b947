package io.mesh.gateway.proxy;

/**
 * What {@link RequestLog} reads of a finished request, whichever path carried it: the Vert.x path
 * ({@link ProxyExchange}) or the Netty fast path ({@link FastExchange}). Both answer the same values for the
 * same request, so metrics and access log lines do not depend on the path.
 */
interface ExchangeRecord {

    long startNanos();

    /** The status sent downstream (200 when nothing was sent, as Vert.x reports an unanswered response). */
    int status();

    /** The weighted cluster routing chose, or null before that. */
    String clusterName();

    /** A header of the downstream request as it arrived. */
    String requestHeader(String name);

    String grpcStatus();

    /** Request body bytes read from downstream. */
    long bytesReceived();

    /** Response body bytes written downstream. */
    long bytesSent();

    /** Sidecar listeners' captured-connection facts; null on the router and on the fast path. */
    Downstream downstream();

    String authority();

    int flags();

    String method();

    String uri();

    /** {@code HTTP/1.1}, {@code HTTP/2}, ... as the access log prints it. */
    String protocol();

    long upstreamHeadersNanos();

    String upstreamHost();

    String routeName();

    String traceparent();

    int attempts();

    /** The downstream peer as {@code host:port}, or null. */
    String remoteAddress();

    /** The gateway's OTLP span of this request, or null (no OTLP, or not sampled by the SDK). */
    io.opentelemetry.api.trace.Span span();
}
