package io.mesh.gateway.identity;

import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * How the proxy trusts pilot's TLS port: the chain must end at the mesh roots, and the leaf must name the host
 * the proxy dialed (DNS or IP SAN), or carry a SPIFFE ID of the control-plane namespace
 * ({@code spiffe://<trust-domain>/ns/istio-system/...}), as a citadel-issued pilot certificate does. The engine's
 * own hostname check is replaced by this one, since a SPIFFE-only certificate names no host.
 */
public final class PilotTrustManager extends X509ExtendedTrustManager {

    private static final int DNS = 2;
    private static final int URI = 6;
    private static final int IP = 7;

    private final X509ExtendedTrustManager roots;
    private final String host;
    private final String spiffePrefix;

    public PilotTrustManager(X509ExtendedTrustManager roots, String host, String trustDomain, String controlPlaneNamespace) {
        this.roots = roots;
        this.host = host;
        this.spiffePrefix = "spiffe://" + trustDomain + "/ns/" + controlPlaneNamespace + "/";
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        roots.checkServerTrusted(chain, authType);   // PKIX to the mesh roots, no hostname
        if (!names(chain[0])) {
            throw new CertificateException("pilot's certificate names neither " + host + " nor a SPIFFE ID under "
                    + spiffePrefix);
        }
    }

    private boolean names(X509Certificate leaf) throws CertificateParsingException {
        var sans = leaf.getSubjectAlternativeNames();
        if (sans == null) {
            return false;
        }
        for (List<?> san : sans) {
            int type = (Integer) san.get(0);
            String value = String.valueOf(san.get(1));
            if ((type == DNS || type == IP) && value.equalsIgnoreCase(host)) {
                return true;
            }
            if (type == URI && value.startsWith(spiffePrefix)) {
                return true;
            }
        }
        return false;
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        checkServerTrusted(chain, authType);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        checkServerTrusted(chain, authType);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        throw new CertificateException("the xDS client trusts servers only");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        checkClientTrusted(chain, authType);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        checkClientTrusted(chain, authType);
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return roots.getAcceptedIssuers();
    }
}
