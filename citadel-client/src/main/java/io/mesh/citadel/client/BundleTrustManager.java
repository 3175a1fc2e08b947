package io.mesh.citadel.client;

import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Trusts exactly the roots the supplier holds at handshake time (the mesh's root bundle, which holds two roots
 * during a rotation). Verification is the JDK's own PKIX trust manager, rebuilt only when the bundle changes;
 * hostname checks, when the caller's engine asks for them, happen there too.
 */
public final class BundleTrustManager extends X509ExtendedTrustManager {

    private record Built(List<X509Certificate> roots, X509ExtendedTrustManager delegate) {
    }

    private final Supplier<List<X509Certificate>> roots;
    private final AtomicReference<Built> built = new AtomicReference<>();

    public BundleTrustManager(Supplier<List<X509Certificate>> roots) {
        this.roots = roots;
    }

    private X509ExtendedTrustManager delegate() throws CertificateException {
        List<X509Certificate> now = roots.get();
        Built seen = built.get();
        if (seen != null && seen.roots().equals(now)) {
            return seen.delegate();
        }
        try {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            for (int i = 0; i < now.size(); i++) {
                store.setCertificateEntry("root-" + i, now.get(i));
            }
            TrustManagerFactory factory = TrustManagerFactory.getInstance("PKIX");
            factory.init(store);
            for (TrustManager tm : factory.getTrustManagers()) {
                if (tm instanceof X509ExtendedTrustManager x) {
                    built.set(new Built(List.copyOf(now), x));
                    return x;
                }
            }
            throw new CertificateException("no PKIX trust manager");
        } catch (GeneralSecurityException | java.io.IOException e) {
            throw new CertificateException("cannot build the trust store", e);
        }
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        delegate().checkClientTrusted(chain, authType, socket);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        delegate().checkServerTrusted(chain, authType, socket);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        delegate().checkClientTrusted(chain, authType, engine);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        delegate().checkServerTrusted(chain, authType, engine);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        delegate().checkClientTrusted(chain, authType);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        delegate().checkServerTrusted(chain, authType);
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return roots.get().toArray(X509Certificate[]::new);
    }
}
