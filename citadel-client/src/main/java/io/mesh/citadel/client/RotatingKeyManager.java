package io.mesh.citadel.client;

import java.net.Socket;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.Optional;
import java.util.function.Supplier;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * A TLS key manager that presents whatever key and chain the supplier holds at handshake time, so a rotated
 * certificate is used by the next handshake with no restart and no rebuilt SSL context. When the supplier has
 * nothing yet, no certificate is presented (a client then falls back to its token).
 */
public final class RotatingKeyManager extends X509ExtendedKeyManager {

    private static final String ALIAS = "current";

    private final Supplier<Optional<CertifiedKey>> current;

    public RotatingKeyManager(Supplier<Optional<CertifiedKey>> current) {
        this.current = current;
    }

    private String alias(String[] keyTypes) {
        Optional<CertifiedKey> key = current.get();
        if (key.isEmpty()) {
            return null;
        }
        String algorithm = key.get().key().getAlgorithm();
        if (keyTypes == null) {
            return ALIAS;
        }
        for (String type : keyTypes) {
            // The JDK asks with "EC"/"RSA" (TLS 1.3) or "EC_EC"/"RSA" style names (TLS 1.2).
            if (type != null && (type.equals(algorithm) || type.startsWith(algorithm + "_") || ("ECDSA".equals(algorithm) && type.startsWith("EC")))) {
                return ALIAS;
            }
        }
        return null;
    }

    @Override
    public String chooseEngineClientAlias(String[] keyTypes, Principal[] issuers, SSLEngine engine) {
        return alias(keyTypes);
    }

    @Override
    public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
        return alias(new String[] {keyType});
    }

    @Override
    public String chooseClientAlias(String[] keyTypes, Principal[] issuers, Socket socket) {
        return alias(keyTypes);
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
        return alias(new String[] {keyType});
    }

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
        String alias = alias(new String[] {keyType});
        return alias == null ? null : new String[] {alias};
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
        return getClientAliases(keyType, issuers);
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
        // The chain sent on the wire leaves out the root: the peer already has it.
        return current.get().map(k -> k.chain().size() > 1 ? k.chain().subList(0, k.chain().size() - 1) : k.chain())
                .map(c -> c.toArray(X509Certificate[]::new)).orElse(null);
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
        return current.get().map(CertifiedKey::key).orElse(null);
    }
}
