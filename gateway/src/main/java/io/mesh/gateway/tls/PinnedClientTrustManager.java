package io.mesh.gateway.tls;

import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import javax.net.ssl.X509TrustManager;

/**
 * Trusts a client only if its chain is trusted by the delegate (the server's CA, and its subject alt names when it has
 * them) and its leaf certificate is pinned ({@link CertificatePins}): Envoy's verify_certificate_spki and
 * verify_certificate_hash on a listener, Istio's verifyCertificateSpki and verifyCertificateHash.
 */
public final class PinnedClientTrustManager implements X509TrustManager {

    private final X509TrustManager delegate;
    private final CertificatePins pins;

    public PinnedClientTrustManager(X509TrustManager delegate, CertificatePins pins) {
        this.delegate = delegate;
        this.pins = pins;
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        delegate.checkClientTrusted(chain, authType);
        if (!pins.matches(chain[0])) {
            throw new CertificateException("client certificate matches none of the pinned SPKI and certificate hashes");
        }
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        throw new CertificateException("pins client certificates only");
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return delegate.getAcceptedIssuers();
    }
}
