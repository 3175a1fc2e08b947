package io.mesh.config;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * What istiod's validation says of a Gateway server's {@code tls} block and its port's protocol (istio
 * {@code pkg/config/validation/validation.go}: {@code validateServer}, {@code validateTLSOptions}, and
 * {@code ValidateGateway}'s httpsRedirect check). {@link GatewayParser} reads the block; this class only judges it:
 * <ul>
 * <li>HTTPS and TLS servers must have a tls block. TLS settings belong on HTTPS and TLS servers: a plain text HTTP
 * server's may only ask for httpsRedirect (a passthrough mode, no mode at all being PASSTHROUGH, istio/api's zero value,
 * and no certificate files); anything else on an HTTP server, and any tls on another protocol (TCP, MONGO, ...), is an
 * error.</li>
 * <li>ISTIO_MUTUAL uses the gateway's own mesh certificate: a server certificate, private key, CA bundle,
 * tlsCertificates, credentialName or credentialNames with it is an error.</li>
 * <li>At most one certificate source: credentialName, credentialNames, serverCertificate with privateKey, or
 * tlsCertificates. SIMPLE, MUTUAL and OPTIONAL_MUTUAL without credentialName(s) need each server certificate and
 * private key, and the two MUTUAL modes a client CA bundle (caCertificates); more than two tlsCertificates is a
 * warning. A CRL (caCrl) is an error with credentialName (on a passthrough server: istiod returns before the check
 * otherwise) and in SIMPLE mode.</li>
 * <li>Certificates on a PASSTHROUGH or AUTO_PASSTHROUGH server are ignored, with a warning (istiod warns rather than
 * rejects, for backwards compatibility). On an HTTPS or TLS server with no mode the warning says how to terminate TLS
 * instead: {@code tls: {credentialName: ...}} reads like termination but passes TLS through.</li>
 * <li>Cipher suites BoringSSL does not know and repeated ones, and a minimum version below TLSV1_2 without cipher
 * suites, are warnings (istiod's; {@code pkg/config/security/security.go} lists the suites). A protocol version that is
 * not one of istio/api's is an error (the CRD's enum).</li>
 * <li>httpsRedirect on a server that is not plain HTTP has no effect (a warning).</li>
 * </ul>
 * And what this gateway does not use (warnings): certificate fields beside credentialName(s), a CRL with them, TLS
 * versions and cipher suites. The client-certificate pins (verifyCertificateSpki, verifyCertificateHash) are
 * {@link GatewayClientPins}'.
 */
final class GatewayServerTls {
    private GatewayServerTls() {
    }

    /** The modes in which the gateway does not terminate TLS. */
    static final Set<String> PASSTHROUGH_MODES = Set.of("PASSTHROUGH", "AUTO_PASSTHROUGH");

    /** Istio's plain text HTTP protocols ({@code protocol.Instance.IsHTTP}). */
    static final Set<String> HTTP_PROTOCOLS = Set.of("HTTP", "HTTP2", "GRPC", "GRPC-WEB", "HTTP_PROXY");

    /** istio/api's {@code ServerTLSSettings.TLSProtocol}. */
    static final List<String> PROTOCOL_VERSIONS = List.of("TLS_AUTO", "TLSV1_0", "TLSV1_1", "TLSV1_2", "TLSV1_3");

    /** The cipher suites istiod accepts by name (istio {@code pkg/config/security/security.go}, BoringSSL's). */
    static final Set<String> CIPHER_SUITES = Set.of("ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
            "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305",
            "ECDHE-RSA-CHACHA20-POLY1305", "ECDHE-ECDSA-AES128-SHA", "ECDHE-RSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA",
            "ECDHE-RSA-AES256-SHA", "AES128-GCM-SHA256", "AES256-GCM-SHA384", "AES128-SHA", "AES256-SHA", "DES-CBC3-SHA");

    private static final List<String> CERTIFICATES = List.of("credentialName", "credentialNames", "serverCertificate",
            "privateKey", "caCertificates", "caCrl", "tlsCertificates");

    private static final List<String> FILES = List.of("serverCertificate", "privateKey", "caCertificates");

    private static final Set<String> TERMINATING_WITH_CERTIFICATES = Set.of("SIMPLE", "MUTUAL", "OPTIONAL_MUTUAL");

    /**
     * Reports the problems of server {@code s}'s tls block {@code t} (null when it has none); {@code protocol} is the
     * port's (upper case), or null when the port is invalid (reported already; istiod then skips the protocol checks
     * too).
     */
    static void check(SpecReader s, SpecReader t, String protocol, Problems p) {
        boolean tlsPort = "HTTPS".equals(protocol) || "TLS".equals(protocol);
        if (t == null) {
            if (tlsPort) {
                p.error(s.at("tls"), article(protocol) + protocol + " server must have TLS settings, as istiod requires"
                        + " of HTTPS and TLS servers: tls.mode SIMPLE, MUTUAL or OPTIONAL_MUTUAL with a credentialName,"
                        + " ISTIO_MUTUAL, PASSTHROUGH or AUTO_PASSTHROUGH");
            }
            return;
        }
        String explicit = t.string("mode");
        String mode = explicit == null ? "PASSTHROUGH" : explicit;
        boolean singleSource = options(t, mode, p);
        boolean passthrough = PASSTHROUGH_MODES.contains(mode);
        boolean http = protocol != null && HTTP_PROTOCOLS.contains(protocol);
        boolean files = FILES.stream().anyMatch(f -> set(t, f));
        if (http && (!passthrough || files)) {
            p.error(s.at("tls"), "a plain text " + protocol + " server cannot have TLS settings other than"
                    + " httpsRedirect (no mode, no certificate files): TLS is terminated on HTTPS and TLS servers");
            return;
        }
        if (protocol != null && !http && !tlsPort) {
            p.error(s.at("tls"), article(protocol) + protocol + " server cannot have TLS settings (only HTTPS and TLS"
                    + " servers have them, and HTTP servers for httpsRedirect)");
            return;
        }
        if (passthrough) {
            for (String f : CERTIFICATES) {
                if (set(t, f)) {
                    p.warn(t.at(f), http ? "has no effect on a plain text HTTP server: TLS is not terminated here"
                            : explicit == null && protocol != null ? "has no effect: a tls block without mode is"
                                    + " PASSTHROUGH, as in Istio, so TLS is not terminated here; set mode: SIMPLE to"
                                    + " terminate TLS with this certificate"
                            : "has no effect in mode " + mode + ": TLS is not terminated here");
                }
            }
        }
        if (protocol != null && !http && Boolean.TRUE.equals(t.bool("httpsRedirect"))) {
            p.warn(t.at("httpsRedirect"), "has no effect on " + article(protocol) + protocol + " server: it redirects"
                    + " plain text HTTP clients to https, and belongs on HTTP servers");
        }
        boolean credential = set(t, "credentialName") || set(t, "credentialNames");
        if (TERMINATING_WITH_CERTIFICATES.contains(mode) && credential && singleSource) {
            // Without credentialName(s) the server is left out (Gateway.Server#unserved says why).
            for (String f : List.of("serverCertificate", "privateKey", "caCertificates")) {
                if (t.has(f)) {
                    p.warn(t.at(f), "has no effect here: the certificate comes from "
                            + (set(t, "credentialName") ? "credentialName" : "credentialNames"));
                }
            }
            if (t.has("caCrl")) {
                p.warn(t.at("caCrl"), "has no effect here: the gateway checks no CRL");
            }
        }
        GatewayClientPins.check(t, mode, credential, p);
        if (!TERMINATING_WITH_CERTIFICATES.contains(mode)) {
            // istiod applies a server's versions and cipher suites to SIMPLE, MUTUAL and OPTIONAL_MUTUAL only.
            for (String f : List.of("minProtocolVersion", "maxProtocolVersion", "cipherSuites")) {
                if (t.has(f)) {
                    p.warn(t.at(f), "has no effect in mode " + mode + ": istiod sets TLS versions and cipher suites on"
                            + " SIMPLE, MUTUAL and OPTIONAL_MUTUAL servers only");
                }
            }
        }
    }

    /**
     * The cipher suites istiod passes on (filteredGatewayCipherSuites): the valid ones, each once, in order; the others
     * are dropped (validation warns of them).
     */
    static List<String> servedCipherSuites(List<String> ciphers) {
        return ciphers.stream().filter(GatewayServerTls::validCipherSuite).distinct().toList();
    }

    /**
     * istiod's {@code validateTLSOptions}, for the checks not tied to the port's protocol. False when the block names more
     * than one certificate source (reported).
     */
    private static boolean options(SpecReader t, String mode, Problems p) {
        List<String> ciphers = t.strings("cipherSuites");
        String min = t.string("minProtocolVersion");
        for (String f : List.of("minProtocolVersion", "maxProtocolVersion")) {
            String v = f.equals("minProtocolVersion") ? min : t.string(f);
            if (v != null && !PROTOCOL_VERSIONS.contains(v)) {
                p.error(t.at(f), "unknown TLS protocol version \"" + v + "\" (" + String.join(", ", PROTOCOL_VERSIONS)
                        + ")");
            }
        }
        if (("TLSV1_0".equals(min) || "TLSV1_1".equals(min)) && ciphers.isEmpty()) {
            p.warn(t.at("minProtocolVersion"), "TLS versions below TLSV1_2 need cipherSuites that they support: the"
                    + " default ones no longer include any");
        }
        Set<String> invalid = new TreeSet<>();
        Set<String> seen = new LinkedHashSet<>();
        Set<String> duplicate = new TreeSet<>();
        for (String c : ciphers) {
            if (!validCipherSuite(c)) {
                invalid.add(c);
            } else if (!seen.add(c)) {
                duplicate.add(c);
            }
        }
        if (!invalid.isEmpty()) {
            p.warn(t.at("cipherSuites"), "ignoring invalid cipher suites: " + invalid);
        }
        if (!duplicate.isEmpty()) {
            p.warn(t.at("cipherSuites"), "ignoring duplicate cipher suites: " + duplicate);
        }
        List<SpecReader> certificates = new ArrayList<>();
        for (SpecReader c : t.list("tlsCertificates")) {
            certificates.add(c.allow("serverCertificate", "privateKey", "caCertificates"));
        }
        if (mode.equals("ISTIO_MUTUAL")) {
            // The gateway's own mesh certificate, and clients verified against the mesh's roots: nothing else is used.
            String[][] fields = {{"serverCertificate", "server certificate"}, {"privateKey", "private key"},
                    {"caCertificates", "CA bundle"}, {"tlsCertificates", "tlsCertificates"},
                    {"credentialName", "credentialName"}, {"credentialNames", "credentialNames"}};
            for (String[] f : fields) {
                if (set(t, f[0])) {
                    p.error(t.at(f[0]), "ISTIO_MUTUAL TLS cannot have an associated " + f[1] + ": it uses the"
                            + " gateway's own mesh certificate");
                }
            }
            return true;
        }
        int sources = (set(t, "serverCertificate") && set(t, "privateKey") ? 1 : 0) + (set(t, "credentialName") ? 1 : 0)
                + (set(t, "credentialNames") ? 1 : 0) + (set(t, "tlsCertificates") ? 1 : 0);
        if (sources > 1) {
            p.error(t.path(), "only one of credentialName, credentialNames, serverCertificate/privateKey and"
                    + " tlsCertificates may be set");
        }
        boolean credential = set(t, "credentialName") || set(t, "credentialNames");
        if (TERMINATING_WITH_CERTIFICATES.contains(mode) && credential) {
            var names = t.raw("credentialNames");
            if (names != null && names.isArray() && names.size() > 2) {
                p.warn(t.at("credentialNames"), (mode.equals("SIMPLE") ? "SIMPLE TLS" : "MUTUAL TLS") + " can support up to"
                        + " 2 server certificates (an RSA and an ECDSA one): a client gets the first of the key type it"
                        + " can verify");
            }
            return sources <= 1;   // the certificates (and their CA) come from the credential
        }
        if (TERMINATING_WITH_CERTIFICATES.contains(mode)) {
            String prefix = mode.equals("SIMPLE") ? "SIMPLE TLS" : "MUTUAL TLS";
            if (!mode.equals("SIMPLE") && !set(t, "caCertificates")) {
                p.error(t.at("caCertificates"), prefix + " requires a client CA bundle (caCertificates), or a"
                        + " credentialName whose Secret holds it");
            }
            if (certificates.size() > 2) {
                p.warn(t.at("tlsCertificates"), prefix + " can support up to 2 server certificates");
            }
            for (SpecReader c : certificates.isEmpty() ? List.of(t) : certificates) {
                if (!set(c, "serverCertificate")) {
                    p.error(c.at("serverCertificate"), prefix + " requires a server certificate (serverCertificate),"
                            + " or a credentialName");
                }
                if (!set(c, "privateKey")) {
                    p.error(c.at("privateKey"), prefix + " requires a private key (privateKey), or a credentialName");
                }
            }
        }
        if (set(t, "caCrl") && set(t, "credentialName")) {
            p.error(t.at("caCrl"), "CRL is not supported with credentialName: the CRL belongs in the credential");
        }
        if (set(t, "caCrl") && mode.equals("SIMPLE")) {
            p.error(t.at("caCrl"), "CRL is not supported with SIMPLE TLS: it checks no client certificates");
        }
        return sources <= 1;
    }

    /** A field istiod counts as set: a non-empty string or list (its zero values are unset). */
    static boolean set(SpecReader t, String field) {
        var v = t.raw(field);
        return v != null && (v.isContainerNode() ? !v.isEmpty() : !v.asText().isEmpty());
    }

    /** As istio's {@code security.IsValidCipherSuite}: a known name, "ALL", or an expression starting with + - ! [. */
    private static boolean validCipherSuite(String c) {
        return c.isEmpty() || c.equals("ALL") || !Character.isLetterOrDigit(c.charAt(0)) || CIPHER_SUITES.contains(c);
    }

    /** "an " before a protocol read with an H (HTTPS, HTTP2), else "a ". */
    private static String article(String protocol) {
        return protocol.startsWith("H") ? "an " : "a ";
    }
}
