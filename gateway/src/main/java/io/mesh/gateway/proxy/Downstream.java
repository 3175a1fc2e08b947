package io.mesh.gateway.proxy;

import io.vertx.core.net.SocketAddress;

/**
 * A captured connection as the sidecar saw it before handing it to its HTTP server: whether it came in
 * (to the workload) or goes out, the original client address, the original destination (SO_ORIGINAL_DST),
 * and the peer's verified SPIFFE ID when it arrived over mesh mTLS (null otherwise).
 */
public record Downstream(boolean inbound, SocketAddress source, SocketAddress originalDst, String peerPrincipal) {

    public boolean mutualTls() {
        return peerPrincipal != null;
    }

    public Downstream withPeer(String principal) {
        return new Downstream(inbound, source, originalDst, principal);
    }
}
