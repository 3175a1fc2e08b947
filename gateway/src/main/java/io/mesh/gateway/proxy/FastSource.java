package io.mesh.gateway.proxy;

import io.mesh.gateway.model.FilterChainSpec;

/**
 * What a fast-path connection ({@link FastPathHandler}) serves and routes by: the router's plaintext listener
 * ({@link ListenerServer}), or one connection a sidecar captured ({@link SidecarPlane}). Asked on the connection's
 * event loop, for each request head.
 */
interface FastSource {

    /**
     * The filter chain whose routes the next request on this connection takes, or null when the Vert.x path must
     * take the request (a TLS listener, a config that changed under the connection...). The chain's RBAC filters are
     * checked before routing, as on the Vert.x path.
     */
    FilterChainSpec fastChain(ActiveConfig config);

    /** A captured connection: where it came from and was headed, and its mTLS peer; null on the router. */
    default Downstream downstream() {
        return null;
    }

    /** Whether the downstream connection is TLS (the upstream request then says {@code x-forwarded-proto: https}). */
    default boolean secure() {
        return false;
    }

    /**
     * Whether the connection is on a sidecar's inbound side, which drains first ({@link DataPlane#draining(boolean)});
     * false for a router's listener and a sidecar's outbound capture. Fixed for the connection's life.
     */
    default boolean inboundSide() {
        return false;
    }
}
