package io.mesh.gateway.tls;

import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.ReferenceCountedOpenSslEngine;
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
import org.jboss.logging.Logger;

/**
 * A server's several certificates for one name (Istio's credentialNames: an RSA and an ECDSA one), chosen per handshake
 * as Envoy chooses among a context's tls_certificates: the first ECDSA certificate for a client that can verify it
 * (TLS 1.3: its signature_algorithms accept ECDSA P-256 with SHA-256; TLS 1.2: that, and it offers an ECDSA cipher
 * suite the server has), any other client the first certificate that is not ECDSA; failing those, the first one.
 * <ul>
 * <li>OpenSSL engine (BoringSSL through netty-tcnative): Netty asks with key types from the server's own cipher list, not
 * the client's, so no answer here can honour the client's cipher suites. Instead the handshake is given both: the
 * ECDSA certificate as a BoringSSL credential ({@link BoringSslCredential}) and the other one as Netty's key material,
 * tried last; BoringSSL picks the first the client can use, by its signature algorithms and, in TLS 1.2, its cipher
 * suites;</li>
 * <li>JDK engine, TLS 1.2: the JDK asks once per cipher suite it would pick (the client's and the server's, in the
 * server's order), with that suite's key type ({@code EC} for ECDHE_ECDSA, {@code RSA} for ECDHE_RSA): an {@code EC}
 * question is answered with the ECDSA certificate when the client's signature algorithms accept it, an {@code RSA} one
 * with the RSA certificate. The server's order ranks ECDSA suites first (the JDK's default list, which Vert.x's HTTPS
 * servers use: its ECDSA GCM and ChaCha20 suites; Netty's, for TCP servers that terminate TLS: its ECDSA GCM suites),
 * so a client offering both kinds gets ECDSA whatever its own order. Not as Envoy: a client whose only ECDSA suites are
 * CBC ones, which the JDK ranks after its RSA GCM ones, and that offers one of those gets RSA;</li>
 * <li>JDK engine, TLS 1.3: the certificate is chosen by the client's signature algorithms alone and answered when its
 * key type is asked.</li>
 * </ul>
 * Immutable.
 */
public final class KeyTypeSelectingKeyManager extends X509ExtendedKeyManager {

    /** One certificate: its alias here, chain and key. */
    private record Entry(String alias, X509Certificate[] chain, PrivateKey key) {
        boolean ecdsa() {
            return key.getAlgorithm().equals("EC");
        }
    }

    private static final Logger LOG = Logger.getLogger(KeyTypeSelectingKeyManager.class);
    private static volatile boolean credentialsFailed;

    private final List<Entry> entries;
    /** The certificates BoringSSL is given, when there is an ECDSA one and another: ECDSA first, then the other. */
    private final BoringSslCredential ecdsaCredential;
    private final Entry nonEcdsa;

    private KeyTypeSelectingKeyManager(List<Entry> entries) {
        this.entries = List.copyOf(entries);
        Entry ecdsa = this.entries.stream().filter(Entry::ecdsa).findFirst().orElse(null);
        this.nonEcdsa = this.entries.stream().filter(e -> !e.ecdsa()).findFirst().orElse(null);
        this.ecdsaCredential = ecdsa != null && nonEcdsa != null ? new BoringSslCredential(ecdsa.chain(), ecdsa.key())
                : null;
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
        if (engine instanceof ReferenceCountedOpenSslEngine openssl && offerBoth(openssl)) {
            return nonEcdsa.alias();
        }
        SSLSession handshake = engine == null ? null : engine.getHandshakeSession();
        if (!(engine instanceof ReferenceCountedOpenSslEngine) && tls12OrOlder(handshake)) {
            // The JDK asks with the key type of the cipher suite it is trying: answer that suite's certificate.
            Entry e = keyType.equals("EC") ? (ecdsaCapable(handshake) ? firstOfType("EC") : null) : firstOfType(keyType);
            return e == null ? null : e.alias();
        }
        Entry e = choose(handshake != null && ecdsaCapable(handshake));
        return e.key().getAlgorithm().equals(keyType) ? e.alias() : null;
    }

    /**
     * Gives BoringSSL the ECDSA certificate as a credential, before the other one Netty sets from the answer, so it picks
     * by the client's signature algorithms and cipher suites; false where it cannot (no ECDSA certificate or no other,
     * or a netty-tcnative not built on BoringSSL, which throws UnsupportedOperationException: then never again), and the
     * choice is made here by the signature algorithms alone, as on TLS 1.3.
     */
    private boolean offerBoth(ReferenceCountedOpenSslEngine engine) {
        if (ecdsaCredential == null || credentialsFailed) {
            return false;
        }
        try {
            ecdsaCredential.addTo(engine);
            return true;
        } catch (UnsupportedOperationException | LinkageError e) {
            credentialsFailed = true;
            LOG.warnf("netty-tcnative (%s) takes no second certificate per handshake (%s): a TLS 1.2 client that accepts"
                    + " ECDSA signatures but offers only RSA cipher suites gets the ECDSA certificate, and fails",
                    OpenSsl.versionString(), e.toString());
            return false;
        } catch (Exception e) {
            LOG.debugf("the ECDSA certificate was not offered to this handshake: %s", e.toString());
            return false;
        }
    }

    private static boolean tls12OrOlder(SSLSession handshake) {
        if (handshake == null) {
            return false;
        }
        String p = handshake.getProtocol();
        return p != null && (p.equals("TLSv1.2") || p.equals("TLSv1.1") || p.equals("TLSv1"));
    }

    private Entry firstOfType(String keyType) {
        for (Entry e : entries) {
            if (e.key().getAlgorithm().equals(keyType)) {
                return e;
            }
        }
        return null;
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
        Entry e = firstOfType(keyType);
        return e == null ? null : e.alias();
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
