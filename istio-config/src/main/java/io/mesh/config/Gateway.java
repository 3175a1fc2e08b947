package io.mesh.config;

import java.util.List;
import java.util.Map;

/** A validated Gateway: the servers a router proxy (selected by labels) listens with. */
public record Gateway(String namespace, String name, Map<String, String> selector, List<Server> servers) {
    public Gateway {
        selector = Map.copyOf(selector);
        servers = List.copyOf(servers);
    }

    /**
     * {@code bind}: the address the server's listener binds to ("" = every address, the gateway's default); servers on one
     * port with different binds are different listeners, as in istiod.
     */
    public record Server(String name, int port, String portName, String protocol, List<String> hosts,
            ServerTls tls, String bind) {
        public Server {
            hosts = List.copyOf(hosts);
            bind = bind == null ? "" : bind;
        }

        /** A server on every address (no bind). */
        public Server(String name, int port, String portName, String protocol, List<String> hosts, ServerTls tls) {
            this(name, port, portName, protocol, hosts, tls, "");
        }

        /** Istio's prefix of a Unix domain socket bind ({@code unix:///path} or {@code unix://@abstract}). */
        public static final String UNIX_PREFIX = "unix://";

        /**
         * Why this gateway cannot serve the server as Istio would, or null when it can: it serves HTTP, HTTP2 and
         * GRPC servers (plain; their tls only asks for httpsRedirect), HTTPS servers that terminate TLS (SIMPLE, MUTUAL,
         * OPTIONAL_MUTUAL with credentialName or credentialNames; ISTIO_MUTUAL with the gateway's own mesh certificate), TLS servers that
         * terminate TLS the same ways for tcp routes, TLS and HTTPS servers in PASSTHROUGH mode (tls routes; a tls block
         * without mode is PASSTHROUGH), TLS and HTTPS servers in AUTO_PASSTHROUGH mode (routed by the mesh's SNI,
         * {@code outbound_.PORT_.SUBSET_.HOST}) and TCP servers (tcp routes). Such a server gets no listener, rather
         * than one that does something else (plaintext where mTLS was asked for, HTTP parsing of a passed-through TLS
         * stream, client certificates accepted without the CRL that was asked for). TLS settings on other protocols are
         * validation errors (istiod's validateServer), not judged here.
         */
        public String unserved() {
            if (bind.startsWith(UNIX_PREFIX)) {
                return "a Unix domain socket bind (" + bind + ") is not served (the gateway listens on TCP only)";
            }
            if (!SERVED_PROTOCOLS.contains(protocol)) {
                return "protocol " + protocol + " is not served (HTTP, HTTPS, HTTP2, GRPC, TCP and TLS are)";
            }
            if (tls == null || !(protocol.equals("HTTPS") || protocol.equals("TLS"))) {
                return null;   // as istiod: an HTTP server is plain HTTP whatever its tls says beyond httpsRedirect
            }
            String mode = tls.mode();
            if (terminatesTls() && tls.credentials().isEmpty() && !mode.equals("ISTIO_MUTUAL")) {
                return "TLS mode " + mode + " without credentialName or credentialNames is not served (the proxy reads"
                        + " no certificate files; name a Secret with credentialName)";
            }
            if (terminatesTls() && tls.crl() && tls.credentials().isEmpty()) {
                return "TLS mode " + mode + " with a CRL file (caCrl) is not served (the proxy reads no files, and"
                        + " would accept the revoked client certificates)";
            }
            if (passthrough() || autoPassthrough()) {
                return null;
            }
            if (!TERMINATING.contains(mode)) {
                return "TLS mode " + mode + " is not served";
            }
            return null;
        }

        /** The port protocols Istio accepts on a Gateway server (upper case; Istio ignores case). */
        public static final java.util.List<String> ISTIO_PROTOCOLS = java.util.List.of("HTTP", "HTTPS", "HTTP2", "GRPC",
                "GRPC-WEB", "HTTP_PROXY", "TCP", "TLS", "MONGO", "REDIS", "MYSQL", "UDP");

        /** The protocols this gateway serves; a server with another one gets no listener. */
        static final java.util.Set<String> SERVED_PROTOCOLS = java.util.Set.of("HTTP", "HTTPS", "HTTP2", "GRPC", "TCP",
                "TLS");

        /** Istio's TLS modes in which the gateway terminates TLS. */
        static final java.util.Set<String> TERMINATING = java.util.Set.of("SIMPLE", "MUTUAL", "OPTIONAL_MUTUAL",
                "ISTIO_MUTUAL");

        /**
         * An HTTPS or TLS server that terminates TLS here: with credentialName's certificate (SIMPLE, MUTUAL,
         * OPTIONAL_MUTUAL) or the gateway's own mesh certificate, clients verified against the mesh's roots
         * (ISTIO_MUTUAL).
         */
        public boolean terminatesTls() {
            return tls != null && TERMINATING.contains(tls.mode()) && (protocol.equals("HTTPS") || protocol.equals("TLS"));
        }

        /**
         * What an HTTPS server asks of client certificates, as a key to compare servers by: "" (SIMPLE), or the mode,
         * the credential (its CA), the subject alt names and the pins. The gateway serves one such setting per port.
         */
        public String clientCertificates() {
            String mode = tls == null ? "SIMPLE" : tls.mode();
            return mode.equals("SIMPLE") ? "" : mode + " " + tls.credentials().stream().findFirst().orElse(null) + " "
                    + tls.subjectAltNames() + (tls.pinned() ? " " + tls.verifyCertificateSpki() + " "
                            + tls.verifyCertificateHash() : "");
        }

        /** A TLS or HTTPS server in PASSTHROUGH mode: the TLS stream goes to a tls route's destination by SNI. */
        public boolean passthrough() {
            return tls != null && tls.mode().equals("PASSTHROUGH") && (protocol.equals("TLS") || protocol.equals("HTTPS"));
        }

        /**
         * A TLS or HTTPS server in AUTO_PASSTHROUGH mode (Istio's multi-network east-west gateway): a mesh client's mTLS
         * stream goes, untouched, to an endpoint of the service port its SNI names ({@code outbound_.PORT_.SUBSET_.HOST});
         * no VirtualService is needed. istiod serves an HTTPS server in this mode as a TLS one (istio
         * {@code pkg/config/gateway/gateway.go} {@code IsPassThroughServer}: no HTTP is parsed;
         * {@code pilot/pkg/networking/core/gateway.go} {@code buildGatewayNetworkFiltersFromTLSRoutes}).
         */
        public boolean autoPassthrough() {
            return tls != null && tls.mode().equals("AUTO_PASSTHROUGH") && (protocol.equals("TLS")
                    || protocol.equals("HTTPS"));
        }

        /**
         * Served as a TCP proxy: a TCP server (tcp routes), a passthrough one (tls routes, or the SNI itself for
         * AUTO_PASSTHROUGH), or a TLS server that terminates TLS (tcp routes on the decrypted stream).
         */
        public boolean l4() {
            return protocol.equals("TCP") || protocol.equals("TLS") || passthrough() || autoPassthrough();
        }
    }

    /**
     * mode is Istio's (SIMPLE, MUTUAL, OPTIONAL_MUTUAL, PASSTHROUGH, AUTO_PASSTHROUGH, ISTIO_MUTUAL), PASSTHROUGH when
     * the YAML sets none (istio/api's zero value, as istiod reads it); credentialName
     * names a Secret or a local file (null when unset); subjectAltNames (MUTUAL, OPTIONAL_MUTUAL, ISTIO_MUTUAL): a client
     * certificate must carry one; crl: the block names a CRL file (caCrl), which the proxy cannot read;
     * credentialNames: several certificates instead of credentialName (Istio's RSA and ECDSA pair: a client gets the
     * one it can verify), the first one's CA verifying client certificates; verifyCertificateSpki (base64 SHA-256 of a
     * client certificate's SubjectPublicKeyInfo) and verifyCertificateHash (hex SHA-256 of the certificate, colons
     * allowed): on MUTUAL and OPTIONAL_MUTUAL servers with a credential, a client certificate must also match one of
     * them (either list, when both are given), as Envoy pins it. minProtocolVersion and maxProtocolVersion are Istio's
     * names (TLSV1_0 .. TLSV1_3; TLS_AUTO or unset: null) and cipherSuites the valid ones, each once, in order (istiod's
     * filteredGatewayCipherSuites: the others are dropped, with a warning from validation).
     */
    public record ServerTls(String mode, String credentialName, boolean httpsRedirect, List<String> subjectAltNames,
            boolean crl, List<String> credentialNames, List<String> verifyCertificateSpki,
            List<String> verifyCertificateHash, String minProtocolVersion, String maxProtocolVersion,
            List<String> cipherSuites) {
        public ServerTls {
            subjectAltNames = subjectAltNames == null ? List.of() : List.copyOf(subjectAltNames);
            credentialNames = credentialNames == null ? List.of() : List.copyOf(credentialNames);
            verifyCertificateSpki = verifyCertificateSpki == null ? List.of() : List.copyOf(verifyCertificateSpki);
            verifyCertificateHash = verifyCertificateHash == null ? List.of() : List.copyOf(verifyCertificateHash);
            minProtocolVersion = "TLS_AUTO".equals(minProtocolVersion) ? null : minProtocolVersion;
            maxProtocolVersion = "TLS_AUTO".equals(maxProtocolVersion) ? null : maxProtocolVersion;
            cipherSuites = cipherSuites == null ? List.of() : List.copyOf(cipherSuites);
        }

        /** With the engine's default TLS versions and cipher suites. */
        public ServerTls(String mode, String credentialName, boolean httpsRedirect, List<String> subjectAltNames,
                boolean crl, List<String> credentialNames, List<String> verifyCertificateSpki,
                List<String> verifyCertificateHash) {
            this(mode, credentialName, httpsRedirect, subjectAltNames, crl, credentialNames, verifyCertificateSpki,
                    verifyCertificateHash, null, null, List.of());
        }

        /** One credential (or none), no pins. */
        public ServerTls(String mode, String credentialName, boolean httpsRedirect, List<String> subjectAltNames,
                boolean crl) {
            this(mode, credentialName, httpsRedirect, subjectAltNames, crl, List.of(), List.of(), List.of());
        }

        /** Without a CRL. */
        public ServerTls(String mode, String credentialName, boolean httpsRedirect, List<String> subjectAltNames) {
            this(mode, credentialName, httpsRedirect, subjectAltNames, false);
        }

        /**
         * The credentials whose certificates the server presents, in order: credentialNames, or credentialName alone;
         * empty when neither is set. The first one's CA ("NAME-cacert") verifies client certificates, as istiod has it.
         */
        public List<String> credentials() {
            return !credentialNames.isEmpty() ? credentialNames : credentialName == null ? List.of()
                    : List.of(credentialName);
        }

        /** Whether the server sets TLS versions or cipher suites (istiod then writes tls_params). */
        public boolean tlsParams() {
            return minProtocolVersion != null || maxProtocolVersion != null || !cipherSuites.isEmpty();
        }

        /** Whether a client certificate must also match a pinned SPKI or certificate hash. */
        public boolean pinned() {
            return !verifyCertificateSpki.isEmpty() || !verifyCertificateHash.isEmpty();
        }
    }
}
