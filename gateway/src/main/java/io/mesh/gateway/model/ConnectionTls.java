package io.mesh.gateway.model;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SNIServerName;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import javax.security.auth.x500.X500Principal;

/**
 * One TLS connection as Envoy's {@code Ssl::ConnectionInfo} describes it to the access log and to CEL: the version, the
 * cipher suite, the session id, the SNI, and the peer's and this proxy's leaf certificates. Taken from the finished
 * handshake's {@link SSLSession} once ({@link #of}: a few getters, no parsing); each derived value (SANs, subject,
 * digests, PEM) is computed when first asked and kept, as Envoy caches them per connection. Values are written as
 * Envoy's BoringSSL writes them: the version {@code TLSv1.3}; the cipher's OpenSSL name ({@code ECDHE-RSA-AES128-GCM-SHA256}
 * over TLS 1.2, the RFC name {@code TLS_AES_128_GCM_SHA256} over TLS 1.3); subject and issuer in RFC 2253; the serial
 * and digests in lower-case hex. A value the connection does not have (no peer certificate, no SAN of that kind) is
 * null, never empty.
 *
 * <p>Thread-safety: the derived values are idempotent and immutable, so racing first readers at worst compute one twice.
 */
public final class ConnectionTls {

    /** The names OpenSSL's RFC 2253 printer gives beyond RFC 2253's own keywords (Java writes those as OIDs). */
    private static final Map<String, String> OID_NAMES = Map.of("1.2.840.113549.1.9.1", "emailAddress",
            "2.5.4.5", "serialNumber", "2.5.4.4", "SN", "2.5.4.42", "GN", "2.5.4.12", "title");
    private static final int SAN_DNS = 2;
    private static final int SAN_URI = 6;

    private final String version;
    private final String cipherSuite;
    private final byte[] sessionId;
    private final String serverName;
    private final X509Certificate peer;
    private final X509Certificate local;

    private List<String> peerUriSans;
    private List<String> localUriSans;
    private List<String> peerDnsSans;
    private List<String> localDnsSans;
    private String peerSha256;

    private ConnectionTls(String version, String cipherSuite, byte[] sessionId, String serverName,
            X509Certificate peer, X509Certificate local) {
        this.version = version;
        this.cipherSuite = cipherSuite;
        this.sessionId = sessionId;
        this.serverName = serverName;
        this.peer = peer;
        this.local = local;
    }

    /**
     * The connection of a finished handshake's {@code session}, without its SNI (an upstream's, which this proxy
     * sent); null for null (a plaintext connection).
     */
    public static ConnectionTls of(SSLSession session) {
        return of(session, null);
    }

    /**
     * A server engine's finished handshake, with the SNI the client sent (read while the connection is open: a closed
     * BoringSSL engine no longer has it); null for null.
     */
    public static ConnectionTls of(javax.net.ssl.SSLEngine engine) {
        return engine == null ? null : of(engine.getSession(), serverName(engine));
    }

    private static ConnectionTls of(SSLSession session, String serverName) {
        if (session == null) {
            return null;
        }
        String protocol = session.getProtocol();
        return new ConnectionTls(protocol == null || protocol.isEmpty() || protocol.equals("NONE") ? null : protocol,
                session.getCipherSuite(), session.getId(), serverName, leaf(peerCertificates(session)),
                leaf(session.getLocalCertificates()));
    }

    private static java.security.cert.Certificate[] peerCertificates(SSLSession session) {
        try {
            return session.getPeerCertificates();
        } catch (SSLPeerUnverifiedException e) {
            return null;   // no client certificate: the peer values are absent
        }
    }

    private static X509Certificate leaf(java.security.cert.Certificate[] chain) {
        return chain != null && chain.length > 0 && chain[0] instanceof X509Certificate x ? x : null;
    }

    /**
     * The SNI the client sent. BoringSSL's is read as it is: the session's {@code SNIHostName} refuses a name that is
     * not a host name (Istio's mesh SNI {@code outbound_.80_._.HOST}), which Envoy logs as sent. The JDK's server
     * answers through its session.
     */
    private static String serverName(javax.net.ssl.SSLEngine engine) {
        if (engine instanceof io.netty.handler.ssl.ReferenceCountedOpenSslEngine openSsl) {
            synchronized (openSsl) {
                long ssl = openSsl.sslPointer();
                return ssl == 0 ? null : io.netty.internal.tcnative.SSL.getSniHostname(ssl);
            }
        }
        if (engine.getSession() instanceof ExtendedSSLSession e) {
            try {
                for (SNIServerName n : e.getRequestedServerNames()) {
                    if (n instanceof SNIHostName h) {
                        return h.getAsciiName();
                    }
                }
            } catch (UnsupportedOperationException | IllegalArgumentException ignored) {
                // an engine that does not say, or a name it refuses to read: none
            }
        }
        return null;
    }

    /** {@code TLSv1.2}, {@code TLSv1.3}, as Envoy's {@code %DOWNSTREAM_TLS_VERSION%} and {@code connection.tls_version}. */
    public String version() {
        return version;
    }

    /**
     * The cipher suite as Envoy prints it (BoringSSL's {@code SSL_CIPHER_get_name}): over TLS 1.3 the RFC name, which is
     * what the engines report; over TLS 1.2 the OpenSSL name of the engine's RFC name (netty's table, in its BoringSSL
     * spelling); a suite that table does not know keeps its RFC name.
     */
    public String cipher() {
        String s = cipherSuite;
        if (s == null || s.isEmpty() || s.startsWith("SSL_NULL")) {
            return null;
        }
        if (!s.contains("_WITH_")) {
            return s;   // TLS 1.3: TLS_AES_128_GCM_SHA256 is BoringSSL's name too
        }
        String openSsl = io.netty.handler.ssl.CipherSuiteConverter.toOpenSsl(s, true);
        return openSsl != null ? openSsl : s;
    }

    /** The session id in lower-case hex, as Envoy's {@code %DOWNSTREAM_TLS_SESSION_ID%}; null when the session has none. */
    public String sessionId() {
        return sessionId == null || sessionId.length == 0 ? null : HexFormat.of().formatHex(sessionId);
    }

    /** The SNI the client asked for, or null. */
    public String requestedServerName() {
        return serverName;
    }

    public boolean hasPeerCertificate() {
        return peer != null;
    }

    public List<String> peerUriSans() {
        if (peerUriSans == null) {
            peerUriSans = sans(peer, SAN_URI);
        }
        return peerUriSans;
    }

    public List<String> localUriSans() {
        if (localUriSans == null) {
            localUriSans = sans(local, SAN_URI);
        }
        return localUriSans;
    }

    public List<String> peerDnsSans() {
        if (peerDnsSans == null) {
            peerDnsSans = sans(peer, SAN_DNS);
        }
        return peerDnsSans;
    }

    public List<String> localDnsSans() {
        if (localDnsSans == null) {
            localDnsSans = sans(local, SAN_DNS);
        }
        return localDnsSans;
    }

    public String peerSubject() {
        return peer == null ? null : rfc2253(peer.getSubjectX500Principal());
    }

    public String localSubject() {
        return local == null ? null : rfc2253(local.getSubjectX500Principal());
    }

    public String peerIssuer() {
        return peer == null ? null : rfc2253(peer.getIssuerX500Principal());
    }

    /** The peer certificate's SHA-256 digest in lower-case hex (Envoy's fingerprint and CEL digest). */
    public String peerSha256() {
        if (peerSha256 == null && peer != null) {
            peerSha256 = digest(peer, "SHA-256");
        }
        return peerSha256;
    }

    public String peerSha1() {
        return peer == null ? null : digest(peer, "SHA-1");
    }

    /**
     * The peer certificate's serial number as BoringSSL's {@code BN_bn2hex} writes it: lower-case hex, whole bytes,
     * without leading zero bytes.
     */
    public String peerSerial() {
        if (peer == null) {
            return null;
        }
        java.math.BigInteger n = peer.getSerialNumber();
        String hex = n.abs().toString(16);
        if (hex.length() % 2 != 0 && n.signum() != 0) {
            hex = "0" + hex;
        }
        return n.signum() < 0 ? "-" + hex : hex;
    }

    public Instant peerNotBefore() {
        return peer == null ? null : peer.getNotBefore().toInstant();
    }

    public Instant peerNotAfter() {
        return peer == null ? null : peer.getNotAfter().toInstant();
    }

    /**
     * The peer certificate in PEM, URL-encoded as Envoy's {@code %DOWNSTREAM_PEER_CERT%}: every byte but RFC 3986's
     * unreserved characters as {@code %XX} (upper-case hex), so the PEM's newlines are {@code %0A}.
     */
    public String peerCertificateUrlEncoded() {
        if (peer == null) {
            return null;
        }
        String pem;
        try {
            pem = "-----BEGIN CERTIFICATE-----\n"
                    + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(peer.getEncoded())
                    + "\n-----END CERTIFICATE-----\n";
        } catch (CertificateEncodingException e) {
            return null;
        }
        StringBuilder sb = new StringBuilder(pem.length() + pem.length() / 8);
        for (int i = 0; i < pem.length(); i++) {
            char c = pem.charAt(i);
            if (c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.'
                    || c == '_' || c == '~') {
                sb.append(c);
            } else {
                sb.append('%').append(HexFormat.of().withUpperCase().toHexDigits((byte) c));
            }
        }
        return sb.toString();
    }

    /** The first entry of {@code list}, as Envoy's CEL certificate attributes read one SAN; null when empty. */
    public static String first(List<String> list) {
        return list == null || list.isEmpty() ? null : list.get(0);
    }

    /** The entries joined by commas, as Envoy's SAN command operators print them; null when empty. */
    public static String joined(List<String> list) {
        return list == null || list.isEmpty() ? null : String.join(",", list);
    }

    private static List<String> sans(X509Certificate cert, int type) {
        if (cert == null) {
            return List.of();
        }
        Collection<List<?>> all;
        try {
            all = cert.getSubjectAlternativeNames();
        } catch (CertificateParsingException e) {
            return List.of();
        }
        if (all == null) {
            return List.of();
        }
        List<String> out = new ArrayList<>(2);
        for (List<?> san : all) {
            if (san.size() >= 2 && san.get(0) instanceof Integer t && t == type && san.get(1) instanceof String v) {
                out.add(v);
            }
        }
        return List.copyOf(out);
    }

    private static String rfc2253(X500Principal name) {
        return name.getName(X500Principal.RFC2253, OID_NAMES);
    }

    private static String digest(X509Certificate cert, String algorithm) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance(algorithm).digest(cert.getEncoded()));
        } catch (NoSuchAlgorithmException | CertificateEncodingException e) {
            return null;
        }
    }
}
