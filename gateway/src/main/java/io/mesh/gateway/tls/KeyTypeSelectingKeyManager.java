package io.mesh.gateway.tls;

import java.net.Socket;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSession;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509KeyManager;

/**
 * A server's several certificates for one name (Istio's credentialNames: an RSA and an ECDSA one), chosen per handshake
 * as Envoy chooses among a context's tls_certificates: a client that can verify ECDSA P-256 with SHA-256 (the
 * signature_algorithms of its ClientHello) gets the first ECDSA certificate, any other client the first certificate
 * that is not ECDSA; failing those, the first one. Either TLS engine asks with the key types its negotiation allows
 * (the JDK's from the client's signature algorithms, OpenSSL's from the server's cipher list); the chosen certificate
 * is answered only when its key type is asked, so the handshake signs with a key the client accepts.
 *
 * <p>Not as Envoy: a TLS 1.2 client that sends ECDSA signature algorithms but offers no ECDSA cipher suite is given the
 * ECDSA certificate (Envoy also looks at the cipher suites), and its handshake fails. Immutable.
 */
public final class KeyTypeSelectingKeyManager extends X509ExtendedKeyManager {

    /** One certificate: its alias here, chain and key. */
    private record Entry(String alias, X509Certificate[] chain, PrivateKey key) {
        boolean ecdsa() {
            return key.getAlgorithm().equals("EC");
        }
    }

    private final List<Entry> entries;

    private KeyTypeSelectingKeyManager(List<Entry> entries) {
        this.entries = List.copyOf(entries);
    }

    /** The certificates of key managers that each hold one (a PEM certificate and key), in order. */
    public static KeyTypeSelectingKeyManager of(List<X509KeyManager> managers) {
        List<Entry> entries = new ArrayList<>();
        for (X509KeyManager km : managers) {
            String alias = onlyAlias(km);
            entries.add(new Entry("cert-" + entries.size(), km.getCertificateChain(alias), km.getPrivateKey(alias)));
        }
        return new KeyTypeSelectingKeyManager(entries);
    }

    private static String onlyAlias(X509KeyManager km) {
        for (String type : new String[] {"RSA", "EC", "RSASSA-PSS", "EdDSA", "Ed25519", "DSA"}) {
            String[] aliases = km.getServerAliases(type, null);
            if (aliases != null && aliases.length > 0) {
                return aliases[0];
            }
        }
        throw new IllegalArgumentException("a certificate with a key of a type TLS servers use (RSA, EC) is needed");
    }

    /** Whether the client's signature algorithms accept ECDSA P-256 with SHA-256 (Envoy's test of an ECDSA client). */
    static boolean ecdsaCapable(SSLSession handshake) {
        if (!(handshake instanceof ExtendedSSLSession s)) {
            return false;
        }
        for (String alg : s.getPeerSupportedSignatureAlgorithms()) {
            String a = alg.toLowerCase(Locale.ROOT);
            if (a.equals("sha256withecdsa") || a.equals("ecdsa_secp256r1_sha256")) {
                return true;
            }
        }
        return false;
    }

    /** The certificate for a client: the first ECDSA one for an ECDSA-capable client, else the first other one. */
    private Entry choose(boolean ecdsaClient) {
        for (Entry e : entries) {
            if (e.ecdsa() == ecdsaClient) {
                return e;
            }
        }
        return entries.get(0);
    }

    @Override
    public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
        Entry e = choose(engine != null && ecdsaCapable(engine.getHandshakeSession()));
        return e.key().getAlgorithm().equals(keyType) ? e.alias() : null;
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
        for (Entry e : entries) {
            if (e.key().getAlgorithm().equals(keyType)) {
                return e.alias();
            }
        }
        return null;
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
        String[] out = entries.stream().filter(e -> e.key().getAlgorithm().equals(keyType)).map(Entry::alias)
                .toArray(String[]::new);
        return out.length == 0 ? null : out;
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
        for (Entry e : entries) {
            if (e.alias().equals(alias)) {
                return e.chain().clone();
            }
        }
        return null;
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
        for (Entry e : entries) {
            if (e.alias().equals(alias)) {
                return e.key();
            }
        }
        return null;
    }

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
        return null;
    }

    @Override
    public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
        return null;
    }
}
