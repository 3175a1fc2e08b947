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
 *
 * <p>A TLS stack chooses an alias, then asks for that alias's chain and key in separate calls. The alias names the
 * certificate chosen ({@code current:SERIAL}), so a rotation between those calls cannot pair the new chain with the
 * old key (a handshake the peer would fail). {@code current} alone means whatever is current.
 */
public final class RotatingKeyManager extends X509ExtendedKeyManager {

    private static final String ALIAS = "current";
    /** How many chosen certificates an alias can still name: more rotations than this within one handshake is absurd. */
    private static final int REMEMBERED = 4;

    private final Supplier<Optional<CertifiedKey>> current;
    /** The certificates aliases were chosen for, newest first. */
    private final java.util.concurrent.atomic.AtomicReference<java.util.List<CertifiedKey>> chosen =
            new java.util.concurrent.atomic.AtomicReference<>(java.util.List.of());

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
            return remember(key.get());
        }
        for (String type : keyTypes) {
            // The JDK asks with "EC"/"RSA" (TLS 1.3) or "EC_EC"/"RSA" style names (TLS 1.2).
            if (type != null && (type.equals(algorithm) || type.startsWith(algorithm + "_") || ("ECDSA".equals(algorithm) && type.startsWith("EC")))) {
                return remember(key.get());
            }
        }
        return null;
    }

    private static String aliasOf(CertifiedKey key) {
        return ALIAS + ":" + key.leaf().getSerialNumber().toString(16);
    }

    private String remember(CertifiedKey key) {
        chosen.updateAndGet(list -> {
            if (!list.isEmpty() && list.get(0) == key) {
                return list;
            }
            java.util.List<CertifiedKey> next = new java.util.ArrayList<>(REMEMBERED);
            next.add(key);
            for (CertifiedKey k : list) {
                if (k != key && next.size() < REMEMBERED) {
                    next.add(k);
                }
            }
            return java.util.List.copyOf(next);
        });
        return aliasOf(key);
    }

    /** The certificate an alias names: the one chosen for it, or the current one for {@code current}. */
    private Optional<CertifiedKey> named(String alias) {
        if (ALIAS.equals(alias)) {
            return current.get();
        }
        for (CertifiedKey k : chosen.get()) {
            if (aliasOf(k).equals(alias)) {
                return Optional.of(k);
            }
        }
        return Optional.empty();
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
        return named(alias).map(k -> k.chain().size() > 1 ? k.chain().subList(0, k.chain().size() - 1) : k.chain())
                .map(c -> c.toArray(X509Certificate[]::new)).orElse(null);
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
        return named(alias).map(CertifiedKey::key).orElse(null);
    }
}
