package io.mesh.gateway.proxy;

import io.mesh.config.AttributeExpression;
import io.mesh.gateway.model.ChainTelemetry;
import io.mesh.gateway.model.FilterChainSpec;
import io.mesh.gateway.model.LogValues;
import io.netty.channel.Channel;
import java.net.InetSocketAddress;
import java.time.Instant;
import org.jboss.logging.Logger;

/**
 * The access log lines of one relayed TCP connection, as Envoy's tcp_proxy writes its access_log when the connection
 * ends: one line per access log of the chain on the {@code io.mesh.gateway.access} logger, in its format, with Envoy's
 * command operators that apply to a connection ({@link LogValues}: start time, duration, bytes both ways, upstream host,
 * cluster and local address, downstream addresses, SNI, response flags; no headers, protocol nor route, response code 0). Envoy's TCP flags: UF (the upstream connection failed), UO (the cluster's max connections
 * overflowed), DT (max_downstream_connection_duration closed it), NR (no cluster: Envoy's tcp_proxy said NR before it
 * had NC), UH (no healthy endpoint); "-" for none. A connection the chain's network RBAC denied is logged too, with
 * Envoy's connection termination details naming the policy and no upstream host; a failed TLS origination with UF and
 * the upstream transport failure reason. The chain's filter (Envoy's CEL filter) decides at the end, over the
 * attributes the TCP stats overrides read plus the connection's addresses, the upstream's (its local address too), the
 * SNI, the flags' bit vector and the termination details.
 *
 * <p>Exists only for a chain whose tcp_proxy has an access log ({@link #of} is null otherwise, so a connection without
 * one costs a null check per read). Event-loop confined: both sides of a relay are on the downstream's loop, and the line
 * is written from the downstream's close listener.
 */
final class TcpAccessLog {

    private static final Logger ACCESS = Logger.getLogger("io.mesh.gateway.access");

    private final java.util.List<io.mesh.gateway.model.AccessLogEntry> logs;
    private final boolean inbound;
    private final long startNanos = System.nanoTime();
    private final Instant start = Instant.now();
    private final String remote;
    private final String local;
    /** The downstream connection: its id and TLS are read from it when a line asks ({@link DownstreamConnection}). */
    private final Channel down;
    /** The upstream connection's TLS once its handshake succeeded, or null: plaintext, or not (yet) connected. */
    private io.netty.handler.ssl.SslHandler upstreamSsl;
    private String sni;
    private String cluster;
    private String upstreamHost;
    private long received;
    private long sent;
    private int flags;
    private PeerWorkload peer;
    private String peerPrincipal;
    /** Why this proxy ended the connection (Envoy's connection termination details), or null. */
    private String terminationDetails;
    /** Why the upstream's TLS failed (Envoy's upstream transport failure reason), or null. */
    private String transportFailure;

    /** This proxy's end of the upstream connection, once connected. */
    private java.net.SocketAddress upstreamLocal;

    private TcpAccessLog(java.util.List<io.mesh.gateway.model.AccessLogEntry> logs, boolean inbound, String remote,
            String local, Channel down) {
        this.down = down;
        this.logs = logs;
        this.inbound = inbound;
        this.remote = remote;
        this.local = local;
    }

    /**
     * The log of {@code down}, taken by {@code chain}'s tcp_proxy ({@code inbound}: a sidecar's inbound side), written
     * when {@code down} closes; {@code originalDst} (null: none) is its downstream local address (a captured
     * connection's original destination, as Envoy's with use_original_dst). Null when the chain has no access log.
     */
    static TcpAccessLog of(FilterChainSpec chain, Channel down, boolean inbound, io.vertx.core.net.SocketAddress originalDst) {
        ChainTelemetry t = chain == null ? null : chain.telemetry();
        if (t == null || !t.accessLog()) {
            return null;
        }
        TcpAccessLog log = new TcpAccessLog(t.accessLogs(), inbound, address(down.remoteAddress()),
                originalDst != null ? originalDst.hostAddress() + ":" + originalDst.port() : address(down.localAddress()), down);
        down.closeFuture().addListener(f -> log.write());
        return log;
    }

    private static String address(java.net.SocketAddress a) {
        if (a instanceof InetSocketAddress i && i.getAddress() != null) {
            return i.getAddress().getHostAddress() + ":" + i.getPort();
        }
        return a == null ? null : a.toString();
    }

    void serverName(String name) {
        sni = name;
    }

    /** The ClientHello's SNI as read before the relay, else as the terminated TLS's session has it (mesh mTLS), or null. */
    private String serverName() {
        if (sni != null) {
            return sni;
        }
        io.mesh.gateway.model.ConnectionTls tls = DownstreamConnection.tlsOf(down);
        return tls == null ? null : tls.requestedServerName();
    }

    void cluster(String name) {
        cluster = name;
    }

    void upstreamHost(String hostPort) {
        upstreamHost = hostPort;
    }

    void upstreamLocal(java.net.SocketAddress address) {
        upstreamLocal = address;
    }

    /** The TLS this proxy originated to the upstream, once its handshake succeeded (read only if a line asks). */
    void upstreamTls(io.netty.handler.ssl.SslHandler ssl) {
        upstreamSsl = ssl;
    }

    /**
     * Why this proxy ended the connection, as Envoy's {@code CONNECTION_TERMINATION_DETAILS}: the network RBAC's
     * {@code rbac_access_denied_matched_policy[...]} ({@link io.mesh.gateway.rbac.Rbac#responseDetail}).
     */
    void terminationDetails(String details) {
        terminationDetails = details;
    }

    /** Why the TLS to the upstream failed (Envoy's {@code UPSTREAM_TRANSPORT_FAILURE_REASON}). */
    void transportFailure(String reason) {
        transportFailure = reason;
    }

    void flag(ResponseFlag f) {
        flags |= 1 << f.ordinal();
    }

    void received(int n) {
        received += n;
    }

    void sent(int n) {
        sent += n;
    }

    /** The peer's workload from the metadata exchange (null: unknown) and its mTLS identity (null: none), once known. */
    void peer(PeerWorkload workload, String principal) {
        if (workload != null) {
            peer = workload;
        }
        if (principal != null) {
            peerPrincipal = principal;
        }
    }

    private void write() {
        Values values = new Values(this, (System.nanoTime() - startNanos) / 1_000_000);
        Attributes attributes = new Attributes(this);
        for (io.mesh.gateway.model.AccessLogEntry log : logs) {
            if (log.filter() == null || log.filter().test(attributes)) {
                ACCESS.info(log.format().render(values));
            }
        }
    }

    /** The connection as Envoy's command operators read it at its end. */
    private record Values(TcpAccessLog log, long durationMillis) implements LogValues {
        @Override
        public Instant startTime() {
            return log.start;
        }

        @Override
        public String requestHeader(String name) {
            return null;
        }

        @Override
        public String responseHeader(String name) {
            return null;
        }

        @Override
        public String responseTrailer(String name) {
            return null;
        }

        @Override
        public String protocol() {
            return null;
        }

        @Override
        public int responseCode() {
            return 0;
        }

        @Override
        public String responseFlags() {
            return RequestLog.flagString(log.flags);
        }

        @Override
        public String responseCodeDetails() {
            return null;
        }

        @Override
        public String connectionTerminationDetails() {
            return log.terminationDetails;
        }

        @Override
        public long bytesReceived() {
            return log.received;
        }

        @Override
        public long bytesSent() {
            return log.sent;
        }

        /** Envoy: not implemented on TCP. */
        @Override
        public Long responseDurationMillis() {
            return null;
        }

        @Override
        public Long responseTxDurationMillis() {
            return null;
        }

        /** One connect attempt once an endpoint was picked (the tcp_proxy here tries once), else none. */
        @Override
        public int upstreamAttempts() {
            return log.upstreamHost == null ? 0 : 1;
        }

        @Override
        public Integer grpcStatus() {
            return null;
        }

        /** No filter writes a connection's dynamic metadata here (Envoy: not implemented on TCP). */
        @Override
        public java.util.Map<String, Object> dynamicMetadata(String namespace) {
            return null;
        }

        @Override
        public String upstreamHost() {
            return log.upstreamHost;
        }

        @Override
        public String upstreamCluster() {
            return log.cluster;
        }

        @Override
        public String upstreamLocalAddress() {
            return log.upstreamLocal == null ? null : address(log.upstreamLocal);
        }

        @Override
        public String upstreamTransportFailureReason() {
            return log.transportFailure;
        }

        @Override
        public String downstreamLocalAddress() {
            return log.local;
        }

        @Override
        public String downstreamRemoteAddress() {
            return log.remote;
        }

        @Override
        public String requestedServerName() {
            return log.serverName();
        }

        @Override
        public String routeName() {
            return null;
        }

        @Override
        public Long connectionId() {
            return DownstreamConnection.idOf(log.down);
        }

        @Override
        public io.mesh.gateway.model.ConnectionTls downstreamTls() {
            return DownstreamConnection.tlsOf(log.down);
        }

        @Override
        public io.mesh.gateway.model.ConnectionTls upstreamTls() {
            return log.upstreamSsl == null ? null : io.mesh.gateway.model.ConnectionTls.of(log.upstreamSsl.engine().getSession());
        }

        /** Envoy: an HTTP protocol, which a tcp_proxy's upstream does not have. */
        @Override
        public String upstreamProtocol() {
            return null;
        }
    }

    /**
     * The connection's attributes: the TCP stats overrides' ({@link StatsAttributes.Connection}), its addresses, the
     * upstream's, the SNI, Envoy's response flags (its bit vector) and termination details.
     */
    private record Attributes(TcpAccessLog log) implements AttributeExpression.Activation {
        @Override
        public Object attribute(String root, String field) {
            return switch (root) {
                case "source" -> part(log.remote, field);
                case "destination" -> part(log.local, field);
                case "upstream" -> switch (field) {
                    case "transport_failure_reason" -> log.transportFailure;
                    case "local_address" -> log.upstreamLocal == null ? null : address(log.upstreamLocal);
                    default -> part(log.upstreamHost, field);
                };
                case "response" -> field.equals("flags") ? (Object) ResponseFlag.envoyBits(log.flags) : null;
                case "connection" -> switch (field) {
                    case "requested_server_name" -> log.serverName();
                    case "termination_details" -> log.terminationDetails;
                    case "id" -> DownstreamConnection.idOf(log.down);
                    case "mtls" -> log.peerPrincipal != null;
                    default -> StatsAttributes.tls(DownstreamConnection.tlsOf(log.down), field);
                };
                default -> new StatsAttributes.Connection(log.cluster, log.peer, log.inbound, log.peerPrincipal)
                        .attribute(root, field);
            };
        }

        private static Object part(String hostPort, String field) {
            int colon = hostPort == null ? -1 : hostPort.lastIndexOf(':');
            if (colon <= 0) {
                return null;
            }
            try {
                return field.equals("port") ? (Object) Long.parseLong(hostPort.substring(colon + 1))
                        : hostPort.substring(0, colon);
            } catch (NumberFormatException e) {
                return null;
            }
        }
    }
}
