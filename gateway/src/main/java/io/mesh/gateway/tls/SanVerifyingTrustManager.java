package io.mesh.gateway.tls;

import java.security.cert.CertificateException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.X509TrustManager;

/**
 * Trusts an upstream only if its chain is trusted by the cluster's CA (the delegate) and its leaf carries
 * one of the expected subject alternative names: a URI SAN such as a SPIFFE ID
 * ({@code spiffe://cluster.local/ns/demo/sa/web}) or a DNS name. This is Envoy's
 * {@code match_subject_alt_names} with exact matching.
 */
public final class SanVerifyingTrustManager implements X509TrustManager {

    private static final int DNS = 2;
    private static final int URI = 6;

    private final X509TrustManager delegate;
    private final List<String> expected;
    /** Whose names are checked: the server's (an upstream), or a client's (a gateway server's client certificates). */
    private final boolean clients;

    public SanVerifyingTrustManager(X509TrustManager delegate, List<String> expected) {
        this(delegate, expected, false);
    }

    private SanVerifyingTrustManager(X509TrustManager delegate, List<String> expected, boolean clients) {
        this.delegate = delegate;
        this.expected = List.copyOf(expected);
        this.clients = clients;
    }

    /** For a server's client certificates: chained to the CA, and one of the expected names (Istio's subjectAltNames). */
    public static SanVerifyingTrustManager forClients(X509TrustManager delegate, List<String> expected) {
        return new SanVerifyingTrustManager(delegate, expected, true);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        delegate.checkServerTrusted(chain, authType);
        if (!clients && !matches(chain[0], expected)) {
            throw new CertificateException("upstream certificate has none of the expected subject alt names " + expected);
        }
    }

    static boolean matches(X509Certificate leaf, List<String> expected) throws CertificateParsingException {
        var sans = leaf.getSubjectAlternativeNames();
        if (sans == null) {
            return false;
        }
        for (List<?> san : sans) {
            int type = (Integer) san.get(0);
            if ((type == URI || type == DNS) && expected.contains(String.valueOf(san.get(1)))) {
                return true;
            }
        }
        return false;
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        delegate.checkClientTrusted(chain, authType);
        if (clients && !matches(chain[0], expected)) {
            throw new CertificateException("client certificate has none of the allowed subject alt names " + expected);
        }
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return delegate.getAcceptedIssuers();
    }
}
