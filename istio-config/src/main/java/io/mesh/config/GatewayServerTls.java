package io.mesh.config;

import java.util.List;
import java.util.Set;

/**
 * What istiod's validation says of a Gateway server's {@code tls} block and its port's protocol (istio
 * {@code pkg/config/validation}: {@code validateServer}, {@code validateTLSOptions}, and {@code ValidateGateway}'s
 * httpsRedirect check). {@link GatewayParser} reads the block; this class only judges it:
 * <ul>
 * <li>TLS settings belong on HTTPS and TLS servers. A plain text HTTP server's may only ask for httpsRedirect: a
 * passthrough mode (no mode at all is PASSTHROUGH, istio/api's zero value) and no certificate files. Anything else on
 * an HTTP server, and any tls on another protocol (TCP, MONGO, ...), is an error.</li>
 * <li>Certificates on a PASSTHROUGH or AUTO_PASSTHROUGH server are ignored, with a warning (istiod warns rather than
 * rejects, for backwards compatibility). On an HTTPS or TLS server with no mode the warning says how to terminate TLS
 * instead: {@code tls: {credentialName: ...}} reads like termination but passes TLS through.</li>
 * <li>httpsRedirect on a server that is not plain HTTP has no effect (a warning).</li>
 * </ul>
 */
final class GatewayServerTls {
    private GatewayServerTls() {
    }

    /** The modes in which the gateway does not terminate TLS. */
    static final Set<String> PASSTHROUGH_MODES = Set.of("PASSTHROUGH", "AUTO_PASSTHROUGH");

    /** Istio's plain text HTTP protocols ({@code protocol.Instance.IsHTTP}). */
    static final Set<String> HTTP_PROTOCOLS = Set.of("HTTP", "HTTP2", "GRPC", "GRPC-WEB", "HTTP_PROXY");

    private static final List<String> CERTIFICATES = List.of("credentialName", "credentialNames", "serverCertificate",
            "privateKey", "caCertificates");

    private static final List<String> FILES = List.of("serverCertificate", "privateKey", "caCertificates");

    /**
     * Reports the problems of server {@code s}'s tls block {@code t}; {@code protocol} is the port's (upper case), or
     * null when the port is invalid (reported already; istiod then skips the protocol checks too).
     */
    static void check(SpecReader s, SpecReader t, String protocol, Problems p) {
        String explicit = t.string("mode");
        String mode = explicit == null ? "PASSTHROUGH" : explicit;
        boolean passthrough = PASSTHROUGH_MODES.contains(mode);
        boolean http = protocol != null && HTTP_PROTOCOLS.contains(protocol);
        boolean files = FILES.stream().anyMatch(t::has);
        if (http && (!passthrough || files)) {
            p.error(s.at("tls"), "a plain text " + protocol + " server cannot have TLS settings other than"
                    + " httpsRedirect (no mode, no certificate files): TLS is terminated on HTTPS and TLS servers");
            return;
        }
        if (protocol != null && !http && !protocol.equals("HTTPS") && !protocol.equals("TLS")) {
            p.error(s.at("tls"), article(protocol) + protocol + " server cannot have TLS settings (only HTTPS and TLS"
                    + " servers have them, and HTTP servers for httpsRedirect)");
            return;
        }
        if (passthrough) {
            for (String f : CERTIFICATES) {
                if (t.has(f)) {
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
    }

    /** "an " before a protocol read with an H (HTTPS, HTTP2), else "a ". */
    private static String article(String protocol) {
        return protocol.startsWith("H") ? "an " : "a ";
    }
}
