package io.mesh.config;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Validates a Kubernetes Gateway API Gateway as its CRD schema and istiod do. A Gateway of a class other than
 * {@code istio} is another controller's: it is kept as is, unvalidated beyond its class, and pilot serves nothing for it.
 */
public final class KubernetesGatewayParser {
    static final Set<String> PROTOCOLS = Set.of("HTTP", "HTTPS", "TLS", "TCP", "UDP");
    /** The protocols whose listeners pilot serves, and the route kinds it reads. */
    static final Set<String> SERVED_PROTOCOLS = Set.of("HTTP", "HTTPS", "TLS", "TCP");
    static final Set<String> ROUTE_KINDS = Set.of("HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute");
    static final Set<String> ADDRESS_TYPES = Set.of("IPAddress", "Hostname", "NamedAddress");

    private KubernetesGatewayParser() {
    }

    public static KubernetesGateway parse(RawResource raw, Problems p) {
        SpecReader r = new SpecReader(raw.spec(), "spec", p);
        String className = r.requiredString("gatewayClassName");
        if (!KubernetesGateway.ISTIO_CLASS.equals(className)) {
            return new KubernetesGateway(raw.namespace(), raw.name(), className, List.of(), List.of(), raw.created());
        }
        r.allow("gatewayClassName", "listeners", "addresses", "infrastructure", "backendTLS", "allowedListeners");
        List<KubernetesGateway.Address> addresses = new ArrayList<>();
        for (SpecReader a : r.list("addresses")) {
            a.allow("type", "value");
            String type = a.string("type") == null ? "IPAddress" : a.string("type");
            if (!ADDRESS_TYPES.contains(type)) {
                p.error(a.at("type"), "must be IPAddress, Hostname or NamedAddress, got \"" + type + "\"");
            }
            String value = a.requiredString("value");
            addresses.add(new KubernetesGateway.Address(type, value == null ? "" : value));
        }
        List<KubernetesGateway.Listener> listeners = new ArrayList<>();
        List<SpecReader> list = r.list("listeners");
        if (list.isEmpty()) {
            p.error("spec.listeners", "at least one listener is required");
        }
        Set<String> names = new HashSet<>();
        for (SpecReader l : list) {
            KubernetesGateway.Listener listener = listener(l, names);
            if (listener != null) {
                listeners.add(listener);
            }
        }
        return new KubernetesGateway(raw.namespace(), raw.name(), className, addresses, listeners, raw.created(),
                nameOverride(raw, p), addressType(raw, p));
    }

    /** A Service's name is a DNS-1035 label (the Deployment's, a DNS-1123 subdomain, accepts every such label). */
    private static final java.util.regex.Pattern DNS_1035_LABEL = java.util.regex.Pattern.compile(
            "[a-z]([-a-z0-9]{0,61}[a-z0-9])?");

    /**
     * istiod's name-override annotation, or null. It names the Service and Deployment pilot deploys, so a value the API
     * server would refuse as a Service's name is an error here rather than a failed apply later.
     */
    private static String nameOverride(RawResource raw, Problems p) {
        String value = raw.annotations().get(KubernetesGateway.NAME_OVERRIDE_ANNOTATION);
        if (value != null && !DNS_1035_LABEL.matcher(value).matches()) {
            p.error("metadata.annotations." + KubernetesGateway.NAME_OVERRIDE_ANNOTATION, "must be a Service name (a"
                    + " DNS-1035 label: at most 63 lower-case letters, digits or '-', starting with a letter and ending"
                    + " with a letter or digit), got \"" + value + "\"");
        }
        return value;
    }

    /**
     * istiod's address-type annotation, or null: {@code IPAddress} or {@code Hostname} (the Gateway API's address types
     * istiod compares it with), or "" for both. istiod reads any other value as both; here it is an error, since it is
     * most likely a misspelling (say, "hostname") of one of them.
     */
    private static String addressType(RawResource raw, Problems p) {
        String value = raw.annotations().get(KubernetesGateway.ADDRESS_TYPE_ANNOTATION);
        if (value != null && !Set.of("IPAddress", "Hostname", "").contains(value)) {
            p.error("metadata.annotations." + KubernetesGateway.ADDRESS_TYPE_ANNOTATION, "must be IPAddress or Hostname"
                    + " (the type of the internal addresses status.addresses reports), or empty for both, got \""
                    + value + "\"");
        }
        return value;
    }

    private static KubernetesGateway.Listener listener(SpecReader l, Set<String> names) {
        Problems p = l.problems();
        l.allow("name", "hostname", "port", "protocol", "tls", "allowedRoutes");
        String name = l.requiredString("name");
        if (name != null && !name.isEmpty() && !names.add(name)) {
            p.error(l.at("name"), "\"" + name + "\" is the name of another listener; listener names must be unique");
        }
        Integer port = l.integer("port");
        if (port == null || port < 1 || port > 65535) {
            p.error(l.at("port"), "must be between 1 and 65535");
        }
        String protocol = l.requiredString("protocol");
        if (protocol != null && !protocol.isEmpty() && !PROTOCOLS.contains(protocol) && !protocol.contains("/")) {
            p.error(l.at("protocol"), "must be HTTP, HTTPS, TLS, TCP or UDP (or a domain-prefixed protocol), got \""
                    + protocol + "\"");
        }
        String hostname = l.string("hostname");
        if (hostname != null) {
            String err = hostname.isEmpty() || hostname.equals("*") ? "must be a host name, optionally with a leading"
                    + " \"*.\"; leave it out for any host" : Hosts.check(hostname, true);
            if (err == null && GatewayParser.ipAddress(hostname)) {
                err = "must be a host name, not an IP address";
            }
            if (err != null) {
                p.error(l.at("hostname"), err);
            }
        }
        KubernetesGateway.Tls tls = tls(l.object("tls"));
        if (tls == null && "HTTPS".equals(protocol)) {
            p.error(l.at("tls"), "is required for protocol HTTPS (mode Terminate with certificateRefs)");
        }
        if (tls == null && "TLS".equals(protocol)) {
            p.error(l.at("tls"), "is required for protocol TLS (mode Passthrough, or Terminate with certificateRefs)");
        }
        if (tls != null && ("HTTP".equals(protocol) || "TCP".equals(protocol) || "UDP".equals(protocol))) {
            p.error(l.at("tls"), "must not be set for protocol " + protocol);
        }
        String from = "Same";
        LabelSelector selector = null;
        List<String> kinds = new ArrayList<>();
        SpecReader allowed = l.object("allowedRoutes");
        if (allowed != null) {
            allowed.allow("namespaces", "kinds");
            SpecReader ns = allowed.object("namespaces");
            if (ns != null) {
                ns.allow("from", "selector");
                from = ns.string("from") == null ? "Same" : ns.string("from");
                if (!Set.of("Same", "All", "Selector").contains(from)) {
                    p.error(ns.at("from"), "must be Same, All or Selector, got \"" + from + "\"");
                }
                SpecReader sel = ns.object("selector");
                if ("Selector".equals(from) && sel == null) {
                    p.error(ns.at("selector"), "is required when from is Selector");
                }
                if (sel != null) {
                    selector = LabelSelector.parse(sel);
                }
            }
            for (SpecReader k : allowed.list("kinds")) {
                k.allow("group", "kind");
                String kind = k.requiredString("kind");
                String group = k.string("group") == null ? Kind.GATEWAY_API : k.string("group");
                if (kind != null) {
                    kinds.add(Kind.GATEWAY_API.equals(group) ? kind : group + "/" + kind);
                }
                if (kind != null && (!ROUTE_KINDS.contains(kind) || !Kind.GATEWAY_API.equals(group))) {
                    p.warn(k.path(), "only HTTPRoute, GRPCRoute, TLSRoute and TCPRoute are served by this mesh; routes"
                            + " of kind " + kind + " are not read");
                }
            }
        }
        if (protocol != null && !SERVED_PROTOCOLS.contains(protocol)) {
            p.warn(l.path(), "protocol " + protocol + " is not served by this mesh (HTTP, HTTPS, TLS and TCP listeners"
                    + " are): this listener gets no server");
        }
        if (tls != null && "HTTPS".equals(protocol) && !"Terminate".equals(tls.mode())) {
            p.warn(l.at("tls.mode"), "mode " + tls.mode() + " is not served by this mesh for protocol HTTPS (Terminate"
                    + " is; use protocol TLS for Passthrough): this listener gets no server");
        }
        return new KubernetesGateway.Listener(name == null ? "" : name, hostname, port == null ? 0 : port,
                protocol == null ? "" : protocol, tls, from, selector, kinds);
    }

    private static KubernetesGateway.Tls tls(SpecReader t) {
        if (t == null) {
            return null;
        }
        Problems p = t.problems();
        t.allow("mode", "certificateRefs", "options", "frontendValidation");
        String mode = t.string("mode") == null ? "Terminate" : t.string("mode");
        if (!Set.of("Terminate", "Passthrough").contains(mode)) {
            p.error(t.at("mode"), "must be Terminate or Passthrough, got \"" + mode + "\"");
        }
        List<KubernetesGateway.SecretRef> refs = new ArrayList<>();
        for (SpecReader c : t.list("certificateRefs")) {
            c.allow("group", "kind", "name", "namespace");
            String group = c.string("group") == null ? "" : c.string("group");
            String kind = c.string("kind") == null ? "Secret" : c.string("kind");
            if (!group.isEmpty() || !kind.equals("Secret")) {
                p.error(c.path(), "only a Secret (group \"\", kind Secret) may hold a certificate, got group \"" + group
                        + "\" kind \"" + kind + "\"");
            }
            String name = c.requiredString("name");
            refs.add(new KubernetesGateway.SecretRef(group, kind, name == null ? "" : name, c.string("namespace")));
        }
        if (mode.equals("Terminate") && refs.size() != 1) {
            p.error(t.at("certificateRefs"), "exactly one certificateRef is required for TLS termination, got "
                    + refs.size());
        }
        if (mode.equals("Passthrough") && !refs.isEmpty()) {
            p.error(t.at("certificateRefs"), "must be empty in mode Passthrough");
        }
        if (t.has("frontendValidation")) {
            p.error(t.at("frontendValidation"), "is not supported by this mesh (client certificates are not asked for)");
        }
        return new KubernetesGateway.Tls(mode, refs);
    }
}
