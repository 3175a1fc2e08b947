package io.mesh.gateway.proxy;

import io.mesh.gateway.model.AccessLogFormat;
import io.mesh.gateway.model.LogValues;
import java.time.Instant;

/**
 * A finished request as Envoy's access log command operators read it ({@link LogValues}), over what either path kept
 * ({@link ExchangeRecord}): request headers as they arrived (the pseudo-headers from the request line), the response
 * headers and trailers when the chain's format reads them, the measured upstream service time as Envoy's router's
 * {@code x-envoy-upstream-service-time}, addresses (a captured connection's source and original destination on a
 * sidecar), and the response code details derived now ({@link ResponseCodeDetails}). Built only when a line is written.
 */
final class HttpLogValues implements LogValues {
    private final ExchangeRecord ex;
    private final int code;
    private final double ms;
    private final long received;
    private final long sent;
    private final String cluster;
    /** The upstream's TLS, read once per line when an operator asks. */
    private io.mesh.gateway.model.ConnectionTls upstreamTls;

    HttpLogValues(ExchangeRecord ex, int code, double ms, long received, long sent, String cluster) {
        this.ex = ex;
        this.code = code;
        this.ms = ms;
        this.received = received;
        this.sent = sent;
        this.cluster = cluster;
    }

    @Override
    public Instant startTime() {
        return Instant.now().minusNanos((long) (ms * 1e6));
    }

    @Override
    public String requestHeader(String name) {
        return switch (name) {
            case ":method" -> ex.method();
            case ":path" -> ex.uri();
            case ":authority", "host" -> ex.authority();
            case ":scheme" -> ex.header(":scheme");
            default -> ex.requestHeader(name);
        };
    }

    @Override
    public String responseHeader(String name) {
        if (name.equals(AccessLogFormat.UPSTREAM_SERVICE_TIME)) {
            long at = ex.upstreamHeadersNanos();
            return at == 0 ? null : Long.toString((at - ex.startNanos()) / 1_000_000);
        }
        return ex.responseHeader(name);
    }

    @Override
    public String responseTrailer(String name) {
        io.vertx.core.MultiMap t = ex.responseTrailers;
        return t == null ? null : t.get(name);
    }

    @Override
    public String protocol() {
        return ex.protocol();
    }

    @Override
    public int responseCode() {
        return code;
    }

    @Override
    public String responseFlags() {
        return RequestLog.flagString(ex.flags());
    }

    @Override
    public String responseCodeDetails() {
        return ResponseCodeDetails.of(ex);
    }

    /** Set by network filters only in Envoy, and none runs before an HCM here. */
    @Override
    public String connectionTerminationDetails() {
        return null;
    }

    @Override
    public long bytesReceived() {
        return received;
    }

    @Override
    public long bytesSent() {
        return sent;
    }

    @Override
    public long durationMillis() {
        return (long) ms;
    }

    @Override
    public Long responseDurationMillis() {
        long at = ex.upstreamHeadersNanos();
        return at == 0 ? null : (at - ex.startNanos()) / 1_000_000;
    }

    @Override
    public Long responseTxDurationMillis() {
        long at = ex.upstreamHeadersNanos();
        return at == 0 ? null : Math.max(0, (long) (ms - (at - ex.startNanos()) / 1e6));
    }

    @Override
    public int upstreamAttempts() {
        return ex.attempts();
    }

    @Override
    public Integer grpcStatus() {
        if (!ProxyExchange.isGrpc(ex.requestHeader("content-type"))) {
            return null;
        }
        String status = ex.grpcStatus();
        if (status != null) {
            try {
                return Integer.parseInt(status.trim());
            } catch (NumberFormatException e) {
                return null;
            }
        }
        return code == 0 ? null : ProxyExchange.grpcStatusOf(code);
    }

    @Override
    public java.util.Map<String, Object> dynamicMetadata(String namespace) {
        return ex.loggedMetadata(namespace);
    }

    @Override
    public String upstreamHost() {
        return ex.upstreamHost();
    }

    @Override
    public String upstreamCluster() {
        return cluster;
    }

    @Override
    public String upstreamLocalAddress() {
        return ex.upstreamLocalAddress();
    }

    @Override
    public String upstreamTransportFailureReason() {
        return ex.upstreamTransportFailure();
    }

    @Override
    public String downstreamLocalAddress() {
        Downstream d = ex.downstream();
        return d != null && d.originalDst() != null ? d.originalDst().toString() : ex.localAddress();
    }

    @Override
    public String downstreamRemoteAddress() {
        Downstream d = ex.downstream();
        return d != null ? (d.source() == null ? null : d.source().toString()) : ex.remoteAddress();
    }

    @Override
    public String requestedServerName() {
        return ex.requestedServerName();
    }

    @Override
    public String routeName() {
        return ex.routeName();
    }

    @Override
    public Long connectionId() {
        return ex.connectionId();
    }

    @Override
    public io.mesh.gateway.model.ConnectionTls downstreamTls() {
        return ex.downstreamTls();
    }

    @Override
    public io.mesh.gateway.model.ConnectionTls upstreamTls() {
        if (upstreamTls == null) {
            upstreamTls = io.mesh.gateway.model.ConnectionTls.of(ex.upstreamSession());
        }
        return upstreamTls;
    }

    @Override
    public String upstreamProtocol() {
        return ex.upstreamProtocol();
    }
}
