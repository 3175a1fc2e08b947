package io.mesh.gateway.upstream;

import io.mesh.gateway.tls.SanVerifyingTrustManager;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.core.net.TrustOptions;
import java.util.List;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

/**
 * The TLS origination of one of a cluster's transports (its {@code transport_socket} or one of its
 * {@code transport_socket_matches}): the Vert.x client options and the Netty contexts, with the same trust, SPIFFE ID /
 * SAN check and client certificate. The SDS names {@code default} and {@code ROOTCA} stand for the proxy's workload
 * identity, whose key manager is asked at each handshake, so rotation needs no new context. Each Netty context is
 * built once, when first asked. Thread-safety: contexts are published through volatile fields; two event loops may
 * both build one, and either is fine.
 */
final class TransportContexts {
    private final String cluster;
    private final UpstreamTls tls;
    private final io.mesh.gateway.identity.WorkloadIdentity identity;
    private final Vertx vertx;
    private final io.vertx.core.net.SSLEngineOptions sslEngine;
    private volatile io.netty.handler.ssl.SslContext nettyTls;
    private volatile io.netty.handler.ssl.SslContext nettyJdkTls;
    private volatile io.netty.handler.ssl.SslContext nettyRelayTls;

    TransportContexts(String cluster, UpstreamTls tls, io.mesh.gateway.identity.WorkloadIdentity identity, Vertx vertx,
            io.vertx.core.net.SSLEngineOptions sslEngine) {
        this.cluster = cluster;
        this.tls = tls;
        this.identity = identity;
        this.vertx = vertx;
        this.sslEngine = sslEngine;
    }

    UpstreamTls tls() {
        return tls;
    }

    /** Sets the TLS of a Vert.x HTTP client's options. */
    void applyTo(HttpClientOptions o, boolean http2) {
        // Auto SAN validation: the peer host, which a request sets to its SNI (the Host), must be one of the
        // certificate's names (the JDK's and OpenSSL's HTTPS host name check, wildcards as RFC 6125).
        o.setVerifyHost(verifyHost());
        applyTo((io.vertx.core.net.ClientOptionsBase) o, http2);
    }

    /**
     * Sets the TLS of a Vert.x WebSocket client's options (an upgrade is HTTP/1.1: no ALPN). Vert.x's WebSocket client
     * connects to the host it would send as SNI, so it connects to the endpoint's address and its engines send
     * {@code sni} themselves ({@link io.mesh.gateway.tls.JdkMeshSni#clientOptions(io.vertx.core.net.SSLEngineOptions,
     * String)}); auto SAN validation checks the certificate against that SNI (the JDK's host name check reads the SNI
     * the engine asked for).
     */
    void applyTo(io.vertx.core.http.WebSocketClientOptions o, String sni) {
        applyTo((io.vertx.core.net.ClientOptionsBase) o, false);
        o.setVerifyHost(sni != null && verifyHost());
        o.setSslEngineOptions(io.mesh.gateway.tls.JdkMeshSni.clientOptions(sslEngine, sni));
    }

    private boolean verifyHost() {
        return tls.autoSanValidation() && tls.verify();
    }

    private void applyTo(io.vertx.core.net.ClientOptionsBase o, boolean http2) {
        o.setSsl(true);
        // Contexts whose engines send a mesh SNI (outbound_.PORT_._.HOST), which Netty's and the JDK's would drop.
        o.setSslEngineOptions(io.mesh.gateway.tls.JdkMeshSni.clientOptions(sslEngine));
        if (http2) {
            o.setUseAlpn(true);
        }
        PemTrustOptions ca = tls.caPem() == null ? null : new PemTrustOptions().addCertValue(Buffer.buffer(tls.caPem()));
        boolean meshRoots = identity != null && UpstreamTls.ROOTCA.equals(tls.caSecret());
        if (!tls.verify()) {
            o.setTrustAll(true);   // no validation context: Envoy verifies nothing
        } else if (meshRoots && !tls.subjectAltNames().isEmpty()) {
            // ISTIO_MUTUAL: chained to the mesh root, and the upstream's SPIFFE ID one of the expected ones.
            o.setTrustOptions(TrustOptions.wrap(new SanVerifyingTrustManager(identity.trustManager(), tls.subjectAltNames())));
        } else if (meshRoots) {
            o.setTrustOptions(identity.trustOptions());
        } else if (!tls.subjectAltNames().isEmpty()) {
            o.setTrustOptions(TrustOptions.wrap(new SanVerifyingTrustManager(trustManager(ca), tls.subjectAltNames())));
        } else if (ca != null) {
            o.setTrustOptions(ca);
        }
        if (identity != null && UpstreamTls.DEFAULT_CERT.equals(tls.certSecret())) {
            o.setKeyCertOptions(identity.keyCertOptions());   // read at each handshake: rotation needs no new pool
        } else if (tls.certPem() != null && tls.keyPem() != null) {
            o.setKeyCertOptions(new PemKeyCertOptions().addCertValue(Buffer.buffer(tls.certPem()))
                    .addKeyValue(Buffer.buffer(tls.keyPem())));
        }
    }

    /** The Netty context on {@code provider}, without ALPN (the fast path's HTTP/1.1, and relays without ALPN). */
    io.netty.handler.ssl.SslContext nettyTls(io.netty.handler.ssl.SslProvider provider) throws javax.net.ssl.SSLException {
        boolean jdk = provider == io.netty.handler.ssl.SslProvider.JDK;
        io.netty.handler.ssl.SslContext c = jdk ? nettyJdkTls : nettyTls;
        if (c == null) {
            c = build(provider, List.of());
            if (jdk) {
                nettyJdkTls = c;
            } else {
                nettyTls = c;
            }
        }
        return c;
    }

    /** A tcp_proxy's context: offering {@link UpstreamTls#relayAlpn} (Istio's mesh transports offer the peer exchange). */
    io.netty.handler.ssl.SslContext relayTls(io.netty.handler.ssl.SslProvider provider) throws javax.net.ssl.SSLException {
        if (tls.relayAlpn().isEmpty()) {
            return nettyTls(provider);
        }
        io.netty.handler.ssl.SslContext c = nettyRelayTls;
        if (c == null) {
            c = build(provider, tls.relayAlpn());
            nettyRelayTls = c;
        }
        return c;
    }

    private io.netty.handler.ssl.SslContext build(io.netty.handler.ssl.SslProvider provider, List<String> alpn)
            throws javax.net.ssl.SSLException {
        PemTrustOptions ca = tls.caPem() == null ? null : new PemTrustOptions().addCertValue(Buffer.buffer(tls.caPem()));
        boolean meshRoots = identity != null && UpstreamTls.ROOTCA.equals(tls.caSecret());
        var b = io.netty.handler.ssl.SslContextBuilder.forClient();
        if (tls.verify()) {
            X509TrustManager trust = meshRoots ? identity.trustManager() : trustManager(ca);
            if (!tls.subjectAltNames().isEmpty()) {
                trust = new SanVerifyingTrustManager(trust, tls.subjectAltNames());
            }
            b.trustManager(trust);
        } else {
            b.trustManager(io.netty.handler.ssl.util.InsecureTrustManagerFactory.INSTANCE);   // no validation context
        }
        b.sslProvider(provider).protocols("TLSv1.3", "TLSv1.2");
        if (identity != null && UpstreamTls.DEFAULT_CERT.equals(tls.certSecret())) {
            b.keyManager(identity.keyManager());
        } else if (tls.certPem() != null && tls.keyPem() != null) {
            b.keyManager(new java.io.ByteArrayInputStream(tls.certPem().getBytes(java.nio.charset.StandardCharsets.US_ASCII)),
                    new java.io.ByteArrayInputStream(tls.keyPem().getBytes(java.nio.charset.StandardCharsets.US_ASCII)));
        }
        if (!alpn.isEmpty()) {
            b.applicationProtocolConfig(new io.netty.handler.ssl.ApplicationProtocolConfig(
                    io.netty.handler.ssl.ApplicationProtocolConfig.Protocol.ALPN,
                    io.netty.handler.ssl.ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                    io.netty.handler.ssl.ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, alpn));
        }
        return io.mesh.gateway.tls.JdkMeshSni.clientContext(b.build());   // a mesh SNI is sent too
    }

    /** The X.509 trust manager of the transport's CA, or of the JVM's default trust store. */
    private X509TrustManager trustManager(PemTrustOptions ca) {
        try {
            TrustManagerFactory f;
            if (ca != null) {
                f = ca.getTrustManagerFactory(vertx);
            } else {
                f = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
                f.init((java.security.KeyStore) null);
            }
            for (var tm : f.getTrustManagers()) {
                if (tm instanceof X509TrustManager x) {
                    return x;
                }
            }
            throw new IllegalStateException("no X.509 trust manager");
        } catch (Exception e) {
            throw new IllegalStateException("cluster " + cluster + ": CA does not load: " + e.getMessage(), e);
        }
    }
}
