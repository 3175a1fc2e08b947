package io.mesh.gateway.proxy;

import io.mesh.gateway.capture.OriginalDst;
import io.mesh.gateway.model.FilterChainSpec;
import io.mesh.gateway.model.ListenerSpec;
import io.mesh.gateway.upstream.LbPolicy;
import io.mesh.gateway.upstream.Upstream;
import io.vertx.core.AbstractVerticle;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.SocketAddress;
import io.vertx.core.net.impl.NetSocketInternal;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.jboss.logging.Logger;

/**
 * One capture listener ({@code virtualOutbound} or {@code virtualInbound}): a TCP server that reads each
 * redirected connection's original destination and sends it on:
 * <ul>
 * <li>outbound to a port with an HTTP listener ({@code 0.0.0.0_PORT}, not bound): to the outbound HTTP
 * server;</li>
 * <li>inbound to a port with filter chains: the first byte says TLS (0x16, a handshake record) or not, and the
 * chain whose match takes that transport decides: the mTLS or plaintext inbound HTTP server, or a TCP proxy;
 * no chain (STRICT and a plaintext client) closes the connection;</li>
 * <li>anything else: a TCP proxy to the chain's cluster, for the passthrough cluster the original
 * destination (inbound, the workload on 127.0.0.1 at that port).</li>
 * </ul>
 */
final class CaptureListener {

    private static final Logger LOG = Logger.getLogger(CaptureListener.class);

    private final SidecarPlane sidecar;
    final String bindHost;
    final int bindPort;
    volatile ListenerSpec spec;
    private final List<NetServer> servers = new CopyOnWriteArrayList<>();
    private String deploymentId;

    CaptureListener(SidecarPlane sidecar, ListenerSpec spec, String bindHost, int bindPort) {
        this.sidecar = sidecar;
        this.spec = spec;
        this.bindHost = bindHost;
        this.bindPort = bindPort;
    }

    Future<Void> start(int instances) {
        return sidecar.plane().vertx().deployVerticle(() -> new AbstractVerticle() {
            private NetClient client;

            @Override
            public void start(Promise<Void> started) {
                client = vertx.createNetClient(new NetClientOptions().setTcpNoDelay(true)
                        .setConnectTimeout(10_000));
                NetServer server = vertx.createNetServer(new NetServerOptions().setHost(bindHost).setPort(bindPort)
                        .setTcpNoDelay(true).setAcceptBacklog(4096));
                server.connectHandler(so -> accept(so, client));
                server.listen().onSuccess(s -> {
                    servers.add(s);
                    started.complete();
                }).onFailure(started::fail);
            }
        }, new DeploymentOptions().setInstances(instances)).map(id -> {
            deploymentId = id;
            return null;
        });
    }

    int actualPort() {
        return servers.isEmpty() ? -1 : servers.get(0).actualPort();
    }

    Future<Void> close() {
        return deploymentId == null ? Future.succeededFuture() : sidecar.plane().vertx().undeploy(deploymentId);
    }

    private void accept(NetSocket so, NetClient client) {
        so.pause();
        SocketAddress original;
        try {
            original = originalDestination(so);
        } catch (RuntimeException e) {
            LOG.debugf("%s: closing a connection from %s: %s", spec.name(), so.remoteAddress(), e.getMessage());
            so.close();
            return;
        }
        if (original.port() == actualPort() && so.localAddress() != null
                && original.hostAddress().equals(so.localAddress().hostAddress())) {
            LOG.debugf("%s: closing a connection made to the capture port itself from %s", spec.name(), so.remoteAddress());
            so.close();
            return;
        }
        ListenerSpec s = spec;
        boolean inbound = !s.name().equals("virtualOutbound") && isInbound(s);
        Downstream downstream = new Downstream(inbound, so.remoteAddress(), original, null);
        if (!inbound) {
            ListenerSpec http = httpListener(original.port());
            if (http != null) {
                hop(so, client, sidecar.outboundPort(), new SidecarPlane.Handoff(downstream, http.name(), false), null);
                return;
            }
            FilterChainSpec chain = s.chainFor(original.port(), false);
            if (chain == null || !chain.tcp()) {
                LOG.debugf("%s: no chain for port %d", s.name(), original.port());
                so.close();
                return;
            }
            tcp(so, client, chain, original, null);
            return;
        }
        if (!s.hasChainsFor(original.port())) {
            // A port no service declares: passed to the workload as is (Istio's inbound passthrough).
            tcp(so, client, null, SocketAddress.inetSocketAddress(original.port(), "127.0.0.1"), null);
            return;
        }
        so.handler(first -> {
            so.pause();
            so.handler(null);
            boolean tls = first.length() > 0 && first.getByte(0) == 0x16;
            FilterChainSpec chain = s.chainFor(original.port(), tls);
            if (chain == null) {
                LOG.debugf("%s: refusing a %s connection to port %d from %s (no matching filter chain)", s.name(),
                        tls ? "TLS" : "plaintext", original.port(), so.remoteAddress());
                so.close();
                return;
            }
            if (chain.tcp()) {
                tcp(so, client, chain, SocketAddress.inetSocketAddress(original.port(), "127.0.0.1"), first);
            } else if (tls && !chain.tls()) {
                so.close();   // a TLS client on a plaintext-only chain: nothing here can terminate it
            } else {
                int port = sidecar.inboundPort(chain.tls());
                if (port < 0) {
                    LOG.warnf("%s: mTLS connection to port %d refused: no workload certificate", s.name(), original.port());
                    so.close();
                    return;
                }
                hop(so, client, port, new SidecarPlane.Handoff(downstream, s.name(), tls), first);
            }
        });
        so.resume();
    }

    private static boolean isInbound(ListenerSpec s) {
        return s.name().equals("virtualInbound") || s.port() == 15006;
    }

    private ListenerSpec httpListener(int port) {
        for (ListenerSpec l : sidecar.plane().active().snapshot().listeners().values()) {
            if (!l.bindToPort() && !l.capture() && l.port() == port && !l.chains().isEmpty() && !l.chains().get(0).tcp()) {
                return l;
            }
        }
        return null;
    }

    /** The loopback hop to an internal HTTP server, registered before any byte is sent. */
    private void hop(NetSocket so, NetClient client, int port, SidecarPlane.Handoff h, Buffer first) {
        client.connect(port, "127.0.0.1").onSuccess(up -> {
            int local = up.localAddress().port();
            sidecar.handoff(local, h);
            up.closeHandler(v -> {
                sidecar.release(local);
                so.close();
            });
            so.closeHandler(v -> up.close());
            splice(so, up, first);
        }).onFailure(err -> {
            LOG.warnf("internal hop failed: %s", err.getMessage());
            so.close();
        });
    }

    /** A TCP proxy to a cluster's endpoint (the original destination for ORIGINAL_DST). */
    private void tcp(NetSocket so, NetClient client, FilterChainSpec chain, SocketAddress original, Buffer first) {
        SocketAddress target = original;
        if (chain != null) {
            Upstream u = sidecar.plane().active().upstreams().get(chain.tcpCluster());
            if (u == null) {
                LOG.debugf("tcp_proxy: no cluster %s", chain.tcpCluster());
                so.close();
                return;
            }
            if (u.spec().lbPolicy() != LbPolicy.ORIGINAL_DST) {
                var ep = u.pick(Long.MIN_VALUE, null);
                if (ep == null) {
                    so.close();   // e.g. BlackHoleCluster, or REGISTRY_ONLY
                    return;
                }
                target = ep.address();
            }
        }
        client.connect(target).onSuccess(up -> {
            up.closeHandler(v -> so.close());
            so.closeHandler(v -> up.close());
            splice(so, up, first);
        }).onFailure(err -> {
            LOG.debugf("tcp_proxy to %s failed: %s", original, err.getMessage());
            so.close();
        });
    }

    private static void splice(NetSocket down, NetSocket up, Buffer first) {
        if (first != null) {
            up.write(first);
        }
        down.pipeTo(up);
        up.pipeTo(down);
    }

    /** SO_ORIGINAL_DST on the accepted socket's descriptor (native epoll transport only). */
    private static SocketAddress originalDestination(NetSocket so) {
        var ch = ((NetSocketInternal) so).channelHandlerContext().channel();
        if (!(ch instanceof io.netty.channel.unix.UnixChannel unix)) {
            throw new IllegalStateException("capture needs Netty's native epoll transport");
        }
        boolean v6 = ch.localAddress() instanceof InetSocketAddress l && l.getAddress() instanceof Inet6Address
                && !isV4Mapped(l.getAddress().getAddress());
        InetSocketAddress a = OriginalDst.of(unix.fd().intValue(), v6);
        return SocketAddress.inetSocketAddress(a.getPort(), a.getAddress().getHostAddress());
    }

    private static boolean isV4Mapped(byte[] a) {
        for (int i = 0; i < 10; i++) {
            if (a[i] != 0) {
                return false;
            }
        }
        return a[10] == (byte) 0xff && a[11] == (byte) 0xff;
    }
}
