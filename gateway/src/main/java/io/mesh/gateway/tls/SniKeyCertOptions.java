package io.mesh.gateway.tls;

import io.mesh.gateway.model.FilterChainSpec;
import io.mesh.gateway.model.ListenerSpec;
import io.mesh.gateway.model.TlsCertificate;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.KeyCertOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import io.mesh.gateway.identity.WorkloadIdentity;
import io.mesh.gateway.upstream.UpstreamTls;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.X509KeyManager;
import javax.net.ssl.X509TrustManager;

/**
 * Picks the certificate of a TLS listener by SNI, the way its filter chains' {@code server_names} say,
 * from the SDS secrets of one snapshot. Immutable: a new snapshot makes a new instance, which is pushed to
 * the servers with {@code updateSSLOptions}. A client without SNI (or with an unknown name) gets the first
 * chain without server names, or else the first chain. A chain with several certificates presents the one the client
 * can verify ({@link KeyTypeSelectingKeyManager}); client certificates are checked against the CA, then the subject alt
 * names and pins the chain has.
 */
public final class SniKeyCertOptions implements KeyCertOptions {

    private record Entry(FilterChainSpec chain, KeyManagerFactory kmf) {
    }

    /**
     * The tls_params of the chain each key manager factory was made for (chains with some only). Weak keys: an entry
     * goes with the options that made it. KeyManagerFactory keeps Object's identity equality.
     */
    private static final Map<KeyManagerFactory, ServerTlsParams> CHAIN_PARAMS =
            java.util.Collections.synchronizedMap(new java.util.WeakHashMap<>());

    private final List<Entry> entries;
    private final KeyManagerFactory fallback;
    private final X509TrustManager clientTrust;
    private final boolean requireClientCert;

    private SniKeyCertOptions(List<Entry> entries, KeyManagerFactory fallback, X509TrustManager clientTrust,
            boolean requireClientCert) {
        this.entries = entries;
        this.fallback = fallback;
        this.clientTrust = clientTrust;
        this.requireClientCert = requireClientCert;
    }

    /**
     * What client certificates are verified against (the CA, or the mesh's roots for {@code ROOTCA}, and with
     * subjectAltNames one of those names in the certificate), or null when none are asked for.
     */
    public X509TrustManager clientTrust() {
        return clientTrust;
    }

    /** Whether a client certificate is required (MUTUAL, ISTIO_MUTUAL), or only verified when sent (OPTIONAL_MUTUAL). */
    public boolean requireClientCert() {
        return requireClientCert;
    }

    /**
     * Builds the options, or returns null while a secret the listener needs has not arrived yet. The workload
     * identity's names ({@code default}: the proxy's own certificate; {@code ROOTCA}: the mesh's roots; Istio's
     * ISTIO_MUTUAL gateway servers) come from {@code identity}, asked at each handshake so a rotated certificate needs
     * no new options; without an identity they never arrive.
     */
    public static SniKeyCertOptions of(Vertx vertx, ListenerSpec listener, Map<String, TlsCertificate> secrets,
            WorkloadIdentity identity) throws Exception {
        List<Entry> entries = new ArrayList<>();
        KeyManagerFactory fallback = null;
        for (FilterChainSpec c : listener.chains()) {
            KeyManagerFactory kmf;
            if (UpstreamTls.DEFAULT_CERT.equals(c.secretName())) {
                if (identity == null) {
                    return null;
                }
                kmf = KeyCertOptions.wrap(identity.keyManager()).getKeyManagerFactory(vertx);
            } else {
                kmf = certificates(vertx, c.secretNames(), secrets);
                if (kmf == null) {
                    return null;
                }
            }
            entries.add(new Entry(c, kmf));
            if (c.tlsParams() != null) {
                CHAIN_PARAMS.put(kmf, c.tlsParams());
            }
            if (fallback == null && c.serverNames().isEmpty()) {
                fallback = kmf;
            }
        }
        if (entries.isEmpty()) {
            return null;
        }
        // The listener's chains agree on client certificates (ListenerTranslator checks it).
        FilterChainSpec first = entries.get(0).chain();
        X509TrustManager trust = null;
        if (first.clientCaSecret() != null) {
            if (UpstreamTls.ROOTCA.equals(first.clientCaSecret())) {
                if (identity == null) {
                    return null;
                }
                trust = identity.trustManager();
            } else {
                TlsCertificate ca = secrets.get(first.clientCaSecret());
                if (ca == null) {
                    return null;
                }
                trust = (X509TrustManager) new PemTrustOptions().addCertValue(Buffer.buffer(ca.certPem()))
                        .getTrustManagerFactory(vertx).getTrustManagers()[0];
            }
            if (!first.clientSans().isEmpty()) {
                trust = SanVerifyingTrustManager.forClients(trust, first.clientSans());
            }
            if (first.clientPins().any()) {
                trust = new PinnedClientTrustManager(trust, first.clientPins());
            }
        }
        return new SniKeyCertOptions(List.copyOf(entries), fallback != null ? fallback : entries.get(0).kmf(), trust,
                first.requireClientCert());
    }

    /**
     * The key managers of a chain's certificates (SDS secrets, in order), or null while one has not arrived: one
     * certificate as it is, several chosen per handshake by what the client can verify
     * ({@link KeyTypeSelectingKeyManager}).
     */
    private static KeyManagerFactory certificates(Vertx vertx, List<String> names, Map<String, TlsCertificate> secrets)
            throws Exception {
        List<X509KeyManager> managers = new ArrayList<>();
        KeyManagerFactory only = null;
        for (String name : names) {
            TlsCertificate cert = secrets.get(name);
            if (cert == null) {
                return null;
            }
            only = new PemKeyCertOptions().addCertValue(Buffer.buffer(cert.certPem()))
                    .addKeyValue(Buffer.buffer(cert.keyPem())).getKeyManagerFactory(vertx);
            managers.add((X509KeyManager) only.getKeyManagers()[0]);
        }
        return managers.size() == 1 ? only
                : KeyCertOptions.wrap(KeyTypeSelectingKeyManager.of(managers)).getKeyManagerFactory(vertx);
    }

    /**
     * Netty server contexts for a TCP listener that terminates TLS ({@code SniHandler}'s mapping): per SNI name the
     * chain's certificate, as {@link #keyManagerFactoryMapper}, with the client-certificate check; TLS 1.2 and 1.3,
     * no ALPN (the stream is not HTTP), but for a chain with Istio's TCP metadata exchange (an ISTIO_MUTUAL server's)
     * {@code istio-peer-exchange}, h2 and http/1.1, as istiod's gateways offer it; a chain's tls_params narrow its
     * versions and cipher suites.
     */
    public io.netty.util.Mapping<String, io.netty.handler.ssl.SslContext> nettyContexts(io.netty.handler.ssl.SslProvider provider)
            throws javax.net.ssl.SSLException {
        java.util.IdentityHashMap<KeyManagerFactory, io.netty.handler.ssl.SslContext> plain = new java.util.IdentityHashMap<>();
        java.util.IdentityHashMap<KeyManagerFactory, io.netty.handler.ssl.SslContext> exchange = new java.util.IdentityHashMap<>();
        for (Entry e : entries) {
            var contexts = e.chain().peerMetadata() != null ? exchange : plain;
            if (!contexts.containsKey(e.kmf())) {
                contexts.put(e.kmf(), nettyContext(e.kmf(), provider, contexts == exchange));
            }
        }
        if (!plain.containsKey(fallback)) {
            plain.put(fallback, nettyContext(fallback, provider, false));
        }
        return name -> {
            Entry e = forName(name);
            return e == null ? plain.get(fallback) : (e.chain().peerMetadata() != null ? exchange : plain).get(e.kmf());
        };
    }

    private static final java.util.List<String> EXCHANGE_ALPN = java.util.List.of("istio-peer-exchange",
            io.netty.handler.ssl.ApplicationProtocolNames.HTTP_2, io.netty.handler.ssl.ApplicationProtocolNames.HTTP_1_1);

    private io.netty.handler.ssl.SslContext nettyContext(KeyManagerFactory kmf, io.netty.handler.ssl.SslProvider provider,
            boolean exchange) throws javax.net.ssl.SSLException {
        var b = io.netty.handler.ssl.SslContextBuilder.forServer(kmf).sslProvider(provider).protocols("TLSv1.3", "TLSv1.2");
        if (clientTrust != null) {
            b.trustManager(clientTrust).clientAuth(requireClientCert ? io.netty.handler.ssl.ClientAuth.REQUIRE
                    : io.netty.handler.ssl.ClientAuth.OPTIONAL);
        }
        if (exchange) {
            b.applicationProtocolConfig(new io.netty.handler.ssl.ApplicationProtocolConfig(
                    io.netty.handler.ssl.ApplicationProtocolConfig.Protocol.ALPN,
                    io.netty.handler.ssl.ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                    io.netty.handler.ssl.ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, EXCHANGE_ALPN));
        }
        return withChainParams(kmf, b.build());
    }

    /**
     * A server context made with a chain's certificates, with the versions and cipher suites of that chain; the context
     * itself for a chain without tls_params. By the key managers' identity, so that options replaced by a newer snapshot
     * still narrow the contexts made with their certificates while the servers switch.
     */
    public static io.netty.handler.ssl.SslContext withChainParams(KeyManagerFactory kmf,
            io.netty.handler.ssl.SslContext context) {
        ServerTlsParams params = kmf == null ? null : CHAIN_PARAMS.get(kmf);
        return params == null ? context : params.wrap(context);
    }

    /** The entry of the chain picked for the name as the listener picks it (the most specific server name), or null. */
    private Entry forName(String serverName) {
        FilterChainSpec chain = ListenerSpec.chainFor(entries.stream().map(Entry::chain).toList(), serverName);
        for (Entry e : entries) {
            if (e.chain() == chain) {
                return e;
            }
        }
        return null;
    }

    /** The certificate of the chain picked for the name, or the fallback's. */
    private KeyManagerFactory kmfFor(String serverName) {
        Entry e = forName(serverName);
        return e == null ? fallback : e.kmf();
    }

    @Override
    public KeyCertOptions copy() {
        return this;
    }

    @Override
    public KeyManagerFactory getKeyManagerFactory(Vertx vertx) {
        return fallback;
    }

    @Override
    public Function<String, X509KeyManager> keyManagerMapper(Vertx vertx) {
        return name -> (X509KeyManager) kmfFor(name).getKeyManagers()[0];
    }

    @Override
    public Function<String, KeyManagerFactory> keyManagerFactoryMapper(Vertx vertx) {
        return this::kmfFor;
    }
}
