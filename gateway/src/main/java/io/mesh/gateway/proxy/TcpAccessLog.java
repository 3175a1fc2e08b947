package io.mesh.gateway.proxy;

import io.mesh.config.AttributeExpression;
import io.mesh.gateway.model.ChainTelemetry;
import io.mesh.gateway.model.FilterChainSpec;
import io.netty.channel.Channel;
import java.net.InetSocketAddress;
import java.time.Instant;
import org.jboss.logging.Logger;

/**
 * The access log line of one relayed TCP connection, as Envoy's tcp_proxy writes its access_log when the connection
 * ends: one JSON line on the {@code io.mesh.gateway.access} logger, with the Envoy-like fields of the request lines that
 * apply to a connection (start time, duration, bytes both ways, upstream host and cluster, downstream addresses, SNI,
 * response flags). Envoy's TCP flags: UF (the upstream connection failed), UO (the cluster's max connections
 * overflowed), DT (max_downstream_connection_duration closed it), NR (no cluster: Envoy's tcp_proxy said NR before it
 * had NC), UH (no healthy endpoint); "-" for none. A connection the chain's network RBAC denied is logged too, with
 * Envoy's connection termination details naming the policy and no upstream host; a failed TLS origination with UF and
 * the upstream transport failure reason. The chain's filter (Envoy's CEL filter) decides at the end, over the
 * attributes the TCP stats overrides read plus the connection's addresses, the upstream's, the SNI, the flags' bit
 * vector and the termination details.
 *
 * <p>Exists only for a chain whose tcp_proxy has an access log ({@link #of} is null otherwise, so a connection without
 * one costs a null check per read). Event-loop confined: both sides of a relay are on the downstream's loop, and the line
 * is written from the downstream's close listener.
 */
final class TcpAccessLog {

    private static final Logger ACCESS = Logger.getLogger("io.mesh.gateway.access");

    private final io.mesh.gateway.model.AccessLogFilter filter;
    private final boolean inbound;
    private final long startNanos = System.nanoTime();
    private final Instant start = Instant.now();
    private final String remote;
    private final String local;
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

    private TcpAccessLog(io.mesh.gateway.model.AccessLogFilter filter, boolean inbound, String remote, String local) {
        this.filter = filter;
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
        TcpAccessLog log = new TcpAccessLog(t.accessLogFilter(), inbound, address(down.remoteAddress()),
                originalDst != null ? originalDst.hostAddress() + ":" + originalDst.port() : address(down.localAddress()));
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

    void cluster(String name) {
        cluster = name;
    }

    void upstreamHost(String hostPort) {
        upstreamHost = hostPort;
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
        if (filter != null && !filter.test(new Attributes(this))) {
            return;
        }
        ACCESS.info(line());
    }

    String line() {
        long ms = (System.nanoTime() - startNanos) / 1_000_000;
        StringBuilder sb = new StringBuilder(320).append('{');
        AccessLogLine.field(sb, "start_time", start.toString());
        AccessLogLine.field(sb, "protocol", "tcp");
        AccessLogLine.field(sb, "response_flags", RequestLog.flagString(flags));
        AccessLogLine.field(sb, "connection_termination_details", terminationDetails);
        AccessLogLine.field(sb, "upstream_transport_failure_reason", transportFailure);
        sb.append("\"bytes_received\":").append(received).append(',');
        sb.append("\"bytes_sent\":").append(sent).append(',');
        sb.append("\"duration\":").append(ms).append(',');
        AccessLogLine.field(sb, "upstream_host", upstreamHost);
        AccessLogLine.field(sb, "upstream_cluster", cluster);
        AccessLogLine.field(sb, "downstream_remote_address", remote);
        AccessLogLine.field(sb, "downstream_local_address", local);
        AccessLogLine.field(sb, "requested_server_name", sni);
        sb.setLength(sb.length() - 1);
        return sb.append('}').toString();
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
                case "upstream" -> field.equals("transport_failure_reason") ? log.transportFailure
                        : part(log.upstreamHost, field);
                case "response" -> field.equals("flags") ? (Object) ResponseFlag.envoyBits(log.flags) : null;
                case "connection" -> switch (field) {
                    case "requested_server_name" -> log.sni;
                    case "termination_details" -> log.terminationDetails;
                    default -> new StatsAttributes.Connection(log.cluster, log.peer, log.inbound, log.peerPrincipal)
                            .attribute(root, field);
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
