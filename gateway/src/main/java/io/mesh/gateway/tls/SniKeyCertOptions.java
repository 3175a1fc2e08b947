package io.mesh.gateway.tls;

import io.mesh.gateway.model.FilterChainSpec;
import io.mesh.gateway.model.ListenerSpec;
import io.mesh.gateway.model.TlsCertificate;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.KeyCertOptions;
import io.vertx.core.net.PemKeyCertOptions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.X509KeyManager;

/**
 * Picks the certificate of a TLS listener by SNI, the way its filter chains' {@code server_names} say,
 * from the SDS secrets of one snapshot. Immutable: a new snapshot makes a new instance, which is pushed to
 * the servers with {@code updateSSLOptions}. A client without SNI (or with an unknown name) gets the first
 * chain without server names, or else the first chain.
 */
public final class SniKeyCertOptions implements KeyCertOptions {

    private record Entry(FilterChainSpec chain, KeyManagerFactory kmf) {
    }

    private final List<Entry> entries;
    private final KeyManagerFactory fallback;
    private final String clientCaPem;
    private final boolean requireClientCert;
    private final List<String> clientSans;

    private SniKeyCertOptions(List<Entry> entries, KeyManagerFactory fallback, String clientCaPem,
            boolean requireClientCert, List<String> clientSans) {
        this.entries = entries;
        this.fallback = fallback;
        this.clientCaPem = clientCaPem;
        this.requireClientCert = requireClientCert;
        this.clientSans = clientSans;
    }

    /** The subject alt names a client certificate must carry one of; empty: any the CA signed. */
    public List<String> clientSans() {
        return clientSans;
    }

    /** The CA that client certificates are verified against (PEM), or null when none are asked for. */
    public String clientCaPem() {
        return clientCaPem;
    }

    /** Whether a client certificate is required (MUTUAL), or only verified when sent (OPTIONAL_MUTUAL). */
    public boolean requireClientCert() {
        return requireClientCert;
    }

    /** Builds the options, or returns null while a secret the listener needs has not arrived yet. */
    public static SniKeyCertOptions of(Vertx vertx, ListenerSpec listener, Map<String, TlsCertificate> secrets)
            throws Exception {
        List<Entry> entries = new ArrayList<>();
        KeyManagerFactory fallback = null;
        for (FilterChainSpec c : listener.chains()) {
            TlsCertificate cert = secrets.get(c.secretName());
            if (cert == null) {
                return null;
            }
            KeyManagerFactory kmf = new PemKeyCertOptions().addCertValue(Buffer.buffer(cert.certPem()))
                    .addKeyValue(Buffer.buffer(cert.keyPem())).getKeyManagerFactory(vertx);
            entries.add(new Entry(c, kmf));
            if (fallback == null && c.serverNames().isEmpty()) {
                fallback = kmf;
            }
        }
        if (entries.isEmpty()) {
            return null;
        }
        // The listener's chains agree on client certificates (ListenerTranslator checks it).
        FilterChainSpec first = entries.get(0).chain();
        String caPem = null;
        if (first.clientCaSecret() != null) {
            TlsCertificate ca = secrets.get(first.clientCaSecret());
            if (ca == null) {
                return null;
            }
            caPem = ca.certPem();
        }
        return new SniKeyCertOptions(List.copyOf(entries), fallback != null ? fallback : entries.get(0).kmf(), caPem,
                first.requireClientCert(), first.clientSans());
    }

    private KeyManagerFactory forName(String serverName) {
        for (Entry e : entries) {
            if (!e.chain().serverNames().isEmpty() && e.chain().servesSni(serverName)) {
                return e.kmf();
            }
        }
        return fallback;
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
        return name -> (X509KeyManager) forName(name).getKeyManagers()[0];
    }

    @Override
    public Function<String, KeyManagerFactory> keyManagerFactoryMapper(Vertx vertx) {
        return this::forName;
    }
}
