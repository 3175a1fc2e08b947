package io.mesh.pilot.generator;

import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.mesh.config.DestinationRule;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ProxyInfo;
import java.time.Duration;

/**
 * The {@code idle_timeout} and {@code max_downstream_connection_duration} of the tcp_proxy filters pilot writes, as
 * istiod sets them (istio/istio {@code pilot/pkg/networking/core}: {@code networkfilter.go}'s
 * {@code buildOutboundNetworkFiltersWithSingleDestination} and {@code ...WithWeightedClusters} for the chains to a
 * service, {@code listener_builder.go} for the catch-all chain, {@code listener_inbound.go} for inbound chains).
 *
 * <p>A tcp_proxy to a service (a sidecar's outbound chains, the tcp and tls routes of a sidecar or a gateway,
 * AUTO_PASSTHROUGH chains) takes {@code trafficPolicy.connectionPool.tcp.idleTimeout} of the DestinationRule the proxy
 * applies to the service (of the first route destination's host, for several; the rule's top-level policy only:
 * istiod reads neither port-level nor subset settings here), else the proxy's node metadata {@code IDLE_TIMEOUT}; and
 * the same rule's {@code tcp.maxConnectionDuration} as its maximum downstream connection duration (no node metadata
 * fallback). Inbound chains and the PassthroughCluster / BlackHoleCluster catch-all chains take the node metadata's
 * idle timeout only. A null {@code idle} leaves the filter without {@code idle_timeout} (Envoy's default of 1 hour;
 * {@code 0s}: disabled); a null {@code maxConnectionDuration}, without a maximum.
 */
record TcpProxyTimeouts(Duration idle, Duration maxConnectionDuration) {

    /** Chains to no service: the proxy's {@code IDLE_TIMEOUT}, or none. */
    static TcpProxyTimeouts ofProxy(ProxyInfo proxy) {
        return new TcpProxyTimeouts(proxy.idleTimeout(), null);
    }

    /**
     * A chain to {@code host}: its DestinationRule's, when the host is a service the proxy sees (istiod looks the rule up
     * for a known service only), else the proxy's.
     */
    static TcpProxyTimeouts toHost(ProxyInfo proxy, MeshSnapshot snapshot, String host) {
        if (snapshot.service(host, proxy.namespace()) == null) {
            return ofProxy(proxy);
        }
        return withRule(proxy, snapshot.destinationRule(host, proxy.namespace(), proxy.labels()));
    }

    /** A chain to a service whose DestinationRule (null: none) the caller already has. */
    static TcpProxyTimeouts withRule(ProxyInfo proxy, DestinationRule dr) {
        DestinationRule.ConnectionPool pool = dr == null ? null : dr.trafficPolicy().connectionPool();
        if (pool == null) {
            return ofProxy(proxy);
        }
        return new TcpProxyTimeouts(pool.tcpIdleTimeout() != null ? pool.tcpIdleTimeout() : proxy.idleTimeout(),
                pool.maxConnectionDuration());
    }

    /** Sets both on a tcp_proxy filter's config. */
    TcpProxy.Builder applyTo(TcpProxy.Builder b) {
        if (idle != null) {
            b.setIdleTimeout(Protos.duration(idle));
        }
        if (maxConnectionDuration != null) {
            b.setMaxDownstreamConnectionDuration(Protos.duration(maxConnectionDuration));
        }
        return b;
    }
}
