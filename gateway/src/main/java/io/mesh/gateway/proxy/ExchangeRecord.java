package io.mesh.gateway.proxy;

/**
 * What {@link RequestLog} reads of a finished request, whichever path carried it: the Vert.x path
 * ({@link ProxyExchange}) or the Netty fast path ({@link FastExchange}). Both answer the same values for the
 * same request, so metrics and access log lines do not depend on the path. What both keep the same way lives here.
 */
abstract class ExchangeRecord {
    final long startNanos = System.nanoTime();
    /** The route matched, or null before routing (or when nothing matched). */
    io.mesh.gateway.route.Route route;
    String upstreamHost;
    long upstreamHeadersNanos;
    /** When the response's last byte went out, when the path already read the clock then; 0: read it at the end. */
    long endNanos;
    int attempts;
    /** The traceparent sent upstream: a String, or the AsciiString {@link Tracing} builds (no copy into a String). */
    CharSequence traceparent;
    io.opentelemetry.api.trace.Span span;
    /** The access log and tracing of the request's filter chain (its HCM from xDS), or null: the local settings. */
    io.mesh.gateway.model.ChainTelemetry telemetry;
    /** The chain's Istio stats filter overrides, or null: every standard metric with every standard label. */
    io.mesh.gateway.model.StatsOverrides stats;
    /** The chain's metadata exchange, or null (none). */
    io.mesh.gateway.model.PeerMetadataConfig mx;
    /** The workload at the other end, as the metadata exchange told it; null: unknown. */
    PeerWorkload peer;
    /** The upstream's SPIFFE ID from the certificate its TLS connection verified (Istio's destination_principal), or null. */
    String upstreamPrincipal;
    /** Whether the downstream sent its metadata (an inbound chain then answers with this proxy's). */
    boolean peerAsked;
    /**
     * Envoy's response code details of a local reply whose flags do not tell them (an RBAC denial, a JWT refusal, a
     * direct response), or null: {@link ResponseCodeDetails} derives them at the end. Set on the Vert.x path only.
     */
    String codeDetails;
    /**
     * Why a try's TLS handshake with the upstream failed ({@link #transportFailureReason}), or null; set on that
     * failure only.
     */
    String transportFailure;
    /**
     * The upstream's response trailers, kept for the access log (the Vert.x path: a reference to those it relayed; the
     * fast path: a copy, only when the chain's access log reads a trailer), or null.
     */
    io.vertx.core.MultiMap responseTrailers;
    /** This proxy's end of the upstream connection that answered, kept only while access logging; null: none. */
    Object upstreamLocal;
    /** That connection's protocol ({@code HTTP/1.1}, {@code HTTP/2}), kept only while access logging; null: none. */
    String upstreamProtocol;
    /**
     * That connection's TLS session (the Vert.x path's), kept only when a format names an upstream TLS operator; null:
     * plaintext, none, or not asked for.
     */
    javax.net.ssl.SSLSession upstreamSession;

    /**
     * Envoy's {@code UPSTREAM_TRANSPORT_FAILURE_REASON} of a failed TLS origination: the TLS engine's message (the
     * JDK's or netty-tcnative's, not BoringSSL's error codes), or null when {@code cause} is not a TLS failure.
     */
    static String transportFailureReason(Throwable cause) {
        boolean tls = false;
        Throwable root = cause;
        for (int depth = 0; root != null && depth < 16; depth++) {
            tls |= root instanceof javax.net.ssl.SSLException || root instanceof java.security.cert.CertificateException;
            Throwable next = root.getCause();
            if (next == null || next == root) {
                break;
            }
            root = next;
        }
        if (!tls) {
            return null;
        }
        // The innermost cause says what failed (an engine's wrapper says "General OpenSslEngine problem").
        return "TLS_error: " + (root.getMessage() != null ? root.getMessage() : root.getClass().getSimpleName());
    }

    /** Whether this request is written to the access log: its chain's say, else {@code local}. */
    final boolean accessLog(boolean local) {
        io.mesh.gateway.model.ChainTelemetry t = telemetry;
        return t == null ? local : t.accessLog();
    }

    /**
     * Starts the request's trace: its OTLP span when one is reported ({@code otlp} null: OTLP is off), then the
     * traceparent sent upstream (the span's, or a new span id under the caller's trace, or a new trace sampled at the
     * chain's percentage, else at {@code localSampling}).
     */
    final void startTrace(String incoming, OtlpReporter otlp, double localSampling) {
        io.mesh.gateway.model.ChainTelemetry t = telemetry;
        double sampling = t == null ? localSampling : Tracing.chainSampling(t, otlp != null, incoming);
        if (otlp != null && (t == null || sampling == Tracing.START_SPAN)) {
            span = startSpan(otlp, incoming);
            if (span != null) {
                traceparent = OtlpReporter.traceparent(span);
                if (t != null && t.spanTags() != null) {
                    OtlpReporter.tag(span, t.spanTags(), this);
                }
            }
        }
        if (traceparent == null) {
            traceparent = Tracing.childOf(incoming, sampling == Tracing.START_SPAN ? 100 : sampling);
        }
    }

    public final long startNanos() {
        return startNanos;
    }

    public final long upstreamHeadersNanos() {
        return upstreamHeadersNanos;
    }

    public final String upstreamHost() {
        return upstreamHost;
    }

    /** Why the TLS to the upstream failed (Envoy's upstream transport failure reason), or null. */
    final String upstreamTransportFailure() {
        return transportFailure;
    }

    /**
     * The downstream TLS's SNI (Envoy's requested server name) from the connection's session, or null: none, or
     * plaintext. Read when a line is written.
     */
    String requestedServerName() {
        io.mesh.gateway.model.ConnectionTls t = downstreamTls();
        return t == null ? null : t.requestedServerName();
    }

    /** The downstream connection's TLS ({@link DownstreamConnection}), or null: plaintext. Read when a line is written. */
    io.mesh.gateway.model.ConnectionTls downstreamTls() {
        return DownstreamConnection.tlsOf(downstreamChannel());
    }

    /** Envoy's connection id of the downstream connection. Read when a line is written. */
    final Long connectionId() {
        return DownstreamConnection.idOf(downstreamChannel());
    }

    /** The upstream connection's protocol, when access logging kept it; else null. */
    String upstreamProtocol() {
        return upstreamProtocol;
    }

    /** The TLS session of the upstream connection that answered, when access logging kept it; else null. */
    javax.net.ssl.SSLSession upstreamSession() {
        return upstreamSession;
    }

    /** The downstream connection's channel (an HTTP/2 stream's: its connection's). */
    abstract io.netty.channel.Channel downstreamChannel();

    public final String routeName() {
        return route == null ? null : route.name();
    }

    public final String traceparent() {
        return traceparent == null ? null : traceparent.toString();
    }

    /** The peer's workload from the metadata exchange, or null. */
    final PeerWorkload peer() {
        return peer;
    }

    public final int attempts() {
        return attempts;
    }

    /** The gateway's OTLP span of this request, or null (no OTLP, or not sampled by the SDK). */
    public final io.opentelemetry.api.trace.Span span() {
        return span;
    }

    /** The request's OTLP span, started by {@code otlp} under the incoming trace context; null when tracing is a no-op. */
    abstract io.opentelemetry.api.trace.Span startSpan(OtlpReporter otlp, String incoming);

    /** The status sent downstream (200 when nothing was sent, as Vert.x reports an unanswered response). */
    abstract int status();

    /** The weighted cluster routing chose, or null before that. */
    abstract String clusterName();

    /** A header of the downstream request as it arrived. */
    abstract String requestHeader(String name);

    /** A header of the request ({@code :authority}, {@code :path}, {@code :method}, {@code :scheme} too), or null. */
    public abstract String header(String name);

    abstract String grpcStatus();

    /** The dynamic metadata a filter wrote for this request under {@code filter}'s namespace, for the access log; or null. */
    abstract java.util.Map<String, Object> loggedMetadata(String filter);

    /** Request body bytes read from downstream. */
    abstract long bytesReceived();

    /** Response body bytes written downstream. */
    abstract long bytesSent();

    /** Sidecar listeners' captured-connection facts; null on the router and on the fast path. */
    abstract Downstream downstream();

    abstract String authority();

    abstract int flags();

    abstract String method();

    abstract String uri();

    /** {@code HTTP/1.1}, {@code HTTP/2}, ... as the access log prints it. */
    abstract String protocol();

    /** The downstream peer as {@code host:port}, or null. */
    abstract String remoteAddress();

    /** This proxy's end of the downstream connection as {@code host:port}, or null; read when a line is written. */
    abstract String localAddress();

    /** A header of the response sent downstream, when the path kept them (the chain's access log reads one), or null. */
    abstract String responseHeader(String name);

    /** {@link #upstreamLocal} as {@code host:port}, or null. */
    final String upstreamLocalAddress() {
        Object a = upstreamLocal;
        if (a instanceof java.net.InetSocketAddress i && i.getAddress() != null) {
            return i.getAddress().getHostAddress() + ":" + i.getPort();
        }
        return a == null ? null : a.toString();
    }
}
