package io.mesh.gateway.proxy;

import io.mesh.gateway.model.FilterChainSpec;
import io.mesh.gateway.model.ListenerSpec;
import io.netty.channel.Channel;
import io.vertx.core.Future;
import io.vertx.core.impl.VertxInternal;
import org.jboss.logging.Logger;

/**
 * A router's TCP listener (a Gateway's TCP server, or its TLS server in PASSTHROUGH mode): a Netty server on the data
 * plane's event loops that relays each connection ({@link TcpRelay}) to an endpoint of its filter chain's cluster.
 * When a chain names server names, the TLS ClientHello's SNI picks the chain (the TLS stream itself passes through
 * untouched, as Envoy's tls_inspector and filter_chain_match do); a connection no chain takes is closed. Its
 * connections count under the gateway's connection cap ({@code limits.max-connections}), like HTTP ones.
 */
final class RouterTcpListener {

    private static final Logger LOG = Logger.getLogger(RouterTcpListener.class);

    private final DataPlane plane;
    final String bindHost;
    final int bindPort;
    volatile ListenerSpec spec;
    private final LoopServer server = new LoopServer();

    RouterTcpListener(DataPlane plane, ListenerSpec spec, String bindHost, int bindPort) {
        this.plane = plane;
        this.spec = spec;
        this.bindHost = bindHost;
        this.bindPort = bindPort;
    }

    Future<Void> start(int eventLoops) {
        return server.start((VertxInternal) plane.vertx(), eventLoops, bindHost, bindPort, this::accept);
    }

    int actualPort() {
        return server.actualPort();
    }

    /** Stops accepting and closes the connections this listener accepted. */
    Future<Void> close() {
        return server.close();
    }

    private void accept(Channel ch) {
        // The gateway's connection cap counts these connections too (and refuses them while draining).
        if (!plane.acquireConnection()) {
            ch.close();
            return;
        }
        ch.closeFuture().addListener(f -> plane.releaseConnection());
        ListenerSpec s = spec;
        if (s.chains().stream().allMatch(c -> c.serverNames().isEmpty())) {
            relay(ch, s.chains().get(0));
            return;
        }
        // Read the ClientHello's SNI (a stream that is not TLS has none), then hand the bytes read to the relay.
        SniPeek.then(ch, s.name(), plane.config().limits().requestHeaderTimeout().toMillis(), sni -> {
            FilterChainSpec chain = spec.chainFor(sni);
            if (chain == null) {
                LOG.debugf("%s: no filter chain for SNI %s", spec.name(), sni);
            }
            return relay(ch, chain);
        });
    }

    /** Relays to an endpoint of the chain's cluster; false (the connection closed) when there is none. */
    private boolean relay(Channel ch, FilterChainSpec chain) {
        if (chain == null) {
            ch.close();
            return false;
        }
        String cluster = chain.pickTcpCluster();
        return TcpRelay.toCluster(plane, ch, cluster, null, null,
                () -> plane.tcpMeters(false, cluster, null, RequestLog.serviceHost(cluster)));
    }
}
