package io.mesh.pilot.generator;

import io.mesh.config.DestinationRule;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ProxyInfo;
import java.time.Duration;

/**
 * The {@code idle_timeout} of the tcp_proxy filters pilot writes, as istiod sets it (istio/istio
 * {@code pilot/pkg/networking/core}: {@code networkfilter.go} for the chains to a service, {@code listener_builder.go}
 * for the catch-all chain, {@code listener_inbound.go} for inbound chains). A tcp_proxy to a service (a sidecar's
 * outbound chains, the tcp and tls routes of a sidecar or a gateway, AUTO_PASSTHROUGH chains) takes
 * {@code trafficPolicy.connectionPool.tcp.idleTimeout} of the DestinationRule the proxy applies to the service (of the
 * first route destination's host, for several; the rule's top-level policy only: istiod reads neither port-level nor
 * subset settings here), else the proxy's node metadata {@code IDLE_TIMEOUT}. Inbound chains and the
 * PassthroughCluster / BlackHoleCluster catch-all chains take the node metadata only. Null when neither says: the
 * filter then carries no {@code idle_timeout}, and Envoy's default of 1 hour applies ({@code 0s}: disabled).
 */
final class TcpIdleTimeout {
    private TcpIdleTimeout() {
    }

    /** Chains to no service: the proxy's {@code IDLE_TIMEOUT}, or null. */
    static Duration ofProxy(ProxyInfo proxy) {
        return proxy.idleTimeout();
    }

    /**
     * A chain to {@code host}: its DestinationRule's, when the host is a service the proxy sees (istiod looks the rule up
     * for a known service only), else the proxy's.
     */
    static Duration toHost(ProxyInfo proxy, MeshSnapshot snapshot, String host) {
        if (snapshot.service(host, proxy.namespace()) == null) {
            return proxy.idleTimeout();
        }
        return withRule(proxy, snapshot.destinationRule(host, proxy.namespace(), proxy.labels()));
    }

    /** A chain to a service whose DestinationRule (null: none) the caller already has. */
    static Duration withRule(ProxyInfo proxy, DestinationRule dr) {
        DestinationRule.ConnectionPool pool = dr == null ? null : dr.trafficPolicy().connectionPool();
        return pool != null && pool.tcpIdleTimeout() != null ? pool.tcpIdleTimeout() : proxy.idleTimeout();
    }
}
