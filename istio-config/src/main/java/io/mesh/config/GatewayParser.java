package io.mesh.config;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/** Validates a Gateway as Istio does. */
public final class GatewayParser {
    private GatewayParser() {
    }

    public static Gateway parse(RawResource raw, Problems p) {
        SpecReader r = new SpecReader(raw.spec(), "spec", p);
        r.allow("selector", "servers");
        List<Gateway.Server> servers = new ArrayList<>();
        List<SpecReader> list = r.list("servers");
        if (list.isEmpty()) {
            p.error("spec.servers", "at least one server is required");
        }
        for (SpecReader s : list) {
            s.allow("port", "bind", "hosts", "tls", "defaultEndpoint", "name");
            String bind = bind(s, p);
            SpecReader port = s.object("port");
            int number = 0;
            String protocol = "HTTP";
            boolean protocolValid = false;
            String portName = "";
            if (port == null) {
                p.error(s.at("port"), "is required");
            } else {
                port.allow("number", "name", "protocol", "targetPort");
                Integer n = port.integer("number");
                boolean unix = bind.startsWith(Gateway.Server.UNIX_PREFIX);
                if (unix && n != null && n != 0) {
                    p.error(s.at("bind"), "port number must be 0 for unix domain socket: " + bind);
                } else if (unix && n != null) {
                    number = 0;   // Istio's form for a Unix domain socket; the server is left out below
                } else if (n == null || n < 1 || n > 65535) {
                    p.error(port.at("number"), "must be between 1 and 65535");
                } else {
                    number = n;
                }
                // Istio parses the protocol ignoring case ("tls", "https") and accepts all of its protocols here.
                String proto = port.string("protocol");
                String upper = proto == null ? null : proto.toUpperCase(java.util.Locale.ROOT);
                if (upper == null || !Gateway.Server.ISTIO_PROTOCOLS.contains(upper)) {
                    p.error(port.at("protocol"), "must be one of " + String.join(", ", Gateway.Server.ISTIO_PROTOCOLS)
                            + " (any case)");
                } else {
                    protocol = upper;
                    protocolValid = true;
                }
                portName = port.string("name") == null ? "" : port.string("name");
            }
            List<String> hosts = s.strings("hosts");
            if (hosts.isEmpty()) {
                p.error(s.at("hosts"), "at least one host is required");
            }
            for (int i = 0; i < hosts.size(); i++) {
                String h = hosts.get(i);
                String host = h.contains("/") ? h.substring(h.indexOf('/') + 1) : h;
                String err = Hosts.check(host, true);
                if (err != null) {
                    p.error(s.at("hosts") + "[" + i + "]", err);
                }
            }
            Gateway.ServerTls tls = null;
            SpecReader t = s.object("tls");
            if (t != null) {
                t.allow("mode", "credentialName", "httpsRedirect", "serverCertificate", "privateKey",
                        "caCertificates", "subjectAltNames", "minProtocolVersion", "maxProtocolVersion",
                        "cipherSuites", "credentialNames", "caCrl", "tlsCertificates", "verifyCertificateSpki",
                        "verifyCertificateHash");
                // istio/api's ServerTLSSettings.TLSmode has PASSTHROUGH as its zero value: a tls block without a mode
                // passes TLS through, as istiod reads it (HTTP servers' tls, e.g. {httpsRedirect: true}, included).
                String mode = t.string("mode") == null ? "PASSTHROUGH" : t.string("mode");
                if (!Set.of("SIMPLE", "MUTUAL", "PASSTHROUGH", "ISTIO_MUTUAL", "AUTO_PASSTHROUGH",
                        "OPTIONAL_MUTUAL").contains(mode)) {
                    p.error(t.at("mode"), "unknown TLS mode \"" + mode + "\"");
                }
                Boolean redirect = t.bool("httpsRedirect");
                List<String> sans = t.strings("subjectAltNames");
                if (!sans.isEmpty() && !Set.of("MUTUAL", "OPTIONAL_MUTUAL", "ISTIO_MUTUAL").contains(mode)) {
                    p.warn(t.at("subjectAltNames"), "has no effect in mode " + mode + ": client certificates are"
                            + " checked in MUTUAL, OPTIONAL_MUTUAL and ISTIO_MUTUAL");
                }
                String credential = t.string("credentialName");
                tls = new Gateway.ServerTls(mode, credential == null || credential.isEmpty() ? null : credential,
                        redirect != null && redirect, sans, GatewayServerTls.set(t, "caCrl"),
                        t.strings("credentialNames"), t.strings("verifyCertificateSpki"),
                        t.strings("verifyCertificateHash"), t.string("minProtocolVersion"),
                        t.string("maxProtocolVersion"), GatewayServerTls.servedCipherSuites(t.strings("cipherSuites")));
            }
            // What istiod says of the tls block (or its absence) for this port's protocol.
            GatewayServerTls.check(s, t, protocolValid ? protocol : null, p);
            Gateway.Server server = new Gateway.Server(s.string("name"), number, portName, protocol, hosts, tls, bind);
            if (s.has("defaultEndpoint")) {
                p.warn(s.at("defaultEndpoint"), "has no effect: istiod does not implement it for gateways (the API marks"
                        + " it NOT IMPLEMENTED); traffic goes where the VirtualServices bound to the server route it");
            }
            String unserved = server.unserved();
            if (unserved != null) {
                p.warn(s.path(), unserved + ": this gateway leaves the server out (no listener for it)");
            }
            servers.add(server);
        }
        // One client-certificate setting per listener (the gateway's TLS server is per bind address and port): pilot
        // serves the first.
        java.util.Map<String, String> firstByPort = new java.util.HashMap<>();
        for (int i = 0; i < servers.size(); i++) {
            Gateway.Server sv = servers.get(i);
            if (!sv.terminatesTls() || sv.unserved() != null) {
                continue;
            }
            String asks = sv.clientCertificates();
            String first = firstByPort.putIfAbsent(sv.bind() + " " + sv.port(), asks);
            if (first != null && !first.equals(asks)) {
                p.warn("spec.servers[" + i + "]", "port " + sv.port() + (sv.bind().isEmpty() ? "" : " on " + sv.bind())
                        + " already has a server that asks"
                        + " differently for client certificates; this gateway serves one setting per port, so this"
                        + " server is left out (give it its own port)");
            }
        }
        return new Gateway(raw.namespace(), raw.name(), r.stringMap("selector"), servers);
    }

    /**
     * A server's bind as Istio validates it: an IP address, or a Unix domain socket ({@code unix:///path},
     * {@code unix://@abstract}) whose port number must be 0. "" when none is given; 0.0.0.0 (every IPv4 address, the
     * gateway's default) is the same as none.
     */
    private static String bind(SpecReader s, Problems p) {
        String bind = s.string("bind");
        if (bind == null || bind.isEmpty() || bind.equals("0.0.0.0")) {
            return "";
        }
        if (bind.startsWith(Gateway.Server.UNIX_PREFIX)) {
            if (bind.length() == Gateway.Server.UNIX_PREFIX.length()) {
                p.error(s.at("bind"), "unix domain socket path cannot be empty");
            }
            return bind;
        }
        if (!ipAddress(bind)) {
            p.error(s.at("bind"), "\"" + bind + "\" is not a valid IP address (or unix:// socket)");
        }
        return bind;
    }

    /** An IPv4 address in dotted form or an IPv6 address (a literal: never looked up). */
    static boolean ipAddress(String s) {
        if (s.matches("\\d{1,3}(\\.\\d{1,3}){3}")) {
            for (String octet : s.split("\\.")) {
                if (Integer.parseInt(octet) > 255) {
                    return false;
                }
            }
            return true;
        }
        if (!s.contains(":") || !s.matches("[0-9a-fA-F:.]+")) {
            return false;
        }
        try {
            java.net.InetAddress.getByName(s);   // a literal with ':' is parsed, not resolved
            return true;
        } catch (java.net.UnknownHostException e) {
            return false;
        }
    }
}
