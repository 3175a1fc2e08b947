package io.mesh.config;

import java.util.ArrayList;
import java.util.List;

/**
 * Validates a Kubernetes Gateway API BackendTLSPolicy as its CRD schema does (Gateway API v1.4): {@code targetRefs} 1 to
 * 16, each with {@code group}, {@code kind} and {@code name}; {@code validation.hostname} required, a host name without
 * wildcard; exactly one of {@code validation.caCertificateRefs} (1 to 8, each with group, kind and name) and
 * {@code validation.wellKnownCACertificates} ({@code System}); {@code validation.subjectAltNames} at most 5, each of
 * type {@code Hostname} (with {@code hostname}) or {@code URI} (with {@code uri}). {@code options} is accepted and not
 * read (its keys are implementation-specific; istiod reads none).
 */
public final class KubernetesBackendTlsPolicyParser {
    private KubernetesBackendTlsPolicyParser() {
    }

    public static KubernetesBackendTlsPolicy parse(RawResource raw, Problems p) {
        SpecReader r = new SpecReader(raw.spec(), "spec", p);
        r.allow("targetRefs", "validation", "options");
        List<KubernetesBackendTlsPolicy.TargetRef> targets = new ArrayList<>();
        for (SpecReader t : KubernetesReferenceGrantParser.entries(r, "targetRefs")) {
            t.allow("group", "kind", "name", "sectionName");
            String group = KubernetesReferenceGrantParser.group(t);
            String kind = t.requiredString("kind");
            String name = t.requiredString("name");
            String section = t.string("sectionName");
            if (section != null && section.isEmpty()) {
                t.problems().error(t.at("sectionName"), "must not be empty; leave it out for every port");
            }
            targets.add(new KubernetesBackendTlsPolicy.TargetRef(group, kind == null ? "" : kind,
                    name == null ? "" : name, section == null || section.isEmpty() ? null : section));
        }
        r.stringMap("options");
        SpecReader v = r.object("validation");
        if (v == null) {
            p.error(r.at("validation"), "is required (hostname, and caCertificateRefs or wellKnownCACertificates)");
            return null;
        }
        v.allow("caCertificateRefs", "wellKnownCACertificates", "hostname", "subjectAltNames");
        List<KubernetesBackendTlsPolicy.CaRef> cas = new ArrayList<>();
        List<SpecReader> caRefs = v.list("caCertificateRefs");
        if (caRefs.size() > 8) {
            p.error(v.at("caCertificateRefs"), "at most 8 entries are allowed, got " + caRefs.size());
        }
        for (SpecReader c : caRefs) {
            c.allow("group", "kind", "name");
            String group = KubernetesReferenceGrantParser.group(c);
            String kind = c.requiredString("kind");
            String name = c.requiredString("name");
            cas.add(new KubernetesBackendTlsPolicy.CaRef(group, kind == null ? "" : kind, name == null ? "" : name));
        }
        String wellKnown = v.string("wellKnownCACertificates");
        if (wellKnown != null && !wellKnown.equals("System")) {
            p.error(v.at("wellKnownCACertificates"), "must be System, got \"" + wellKnown + "\"");
        }
        if (wellKnown != null && !caRefs.isEmpty()) {
            p.error(v.path(), "must not set both caCertificateRefs and wellKnownCACertificates");
        } else if (wellKnown == null && caRefs.isEmpty()) {
            p.error(v.path(), "must set caCertificateRefs or wellKnownCACertificates");
        }
        String hostname = v.requiredString("hostname");
        if (hostname != null && !hostname.isEmpty()) {
            String err = hostname.startsWith("*") ? "must be a host name without a wildcard"
                    : Hosts.check(hostname, false);
            if (err == null && GatewayParser.ipAddress(hostname)) {
                err = "must be a host name, not an IP address";
            }
            if (err != null) {
                p.error(v.at("hostname"), err);
            }
        }
        List<String> sans = new ArrayList<>();
        List<SpecReader> sanList = v.list("subjectAltNames");
        if (sanList.size() > 5) {
            p.error(v.at("subjectAltNames"), "at most 5 entries are allowed, got " + sanList.size());
        }
        for (SpecReader s : sanList) {
            s.allow("type", "hostname", "uri");
            String type = s.requiredString("type");
            String host = s.string("hostname");
            String uri = s.string("uri");
            if ("Hostname".equals(type)) {
                if (host == null || host.isEmpty()) {
                    p.error(s.at("hostname"), "is required for type Hostname");
                } else if (Hosts.check(host, true) != null) {
                    p.error(s.at("hostname"), Hosts.check(host, true));
                }
                if (uri != null) {
                    p.error(s.at("uri"), "must not be set for type Hostname");
                }
                sans.add(host == null ? "" : host);
            } else if ("URI".equals(type)) {
                if (uri == null || !uri.matches("[a-zA-Z][a-zA-Z0-9+.-]*:\\S+")) {
                    p.error(s.at("uri"), "is required for type URI and must be an absolute URI, got "
                            + (uri == null ? "none" : "\"" + uri + "\""));
                }
                if (host != null) {
                    p.error(s.at("hostname"), "must not be set for type URI");
                }
                sans.add(uri == null ? "" : uri);
            } else if (type != null) {
                p.error(s.at("type"), "must be Hostname or URI, got \"" + type + "\"");
            }
        }
        return new KubernetesBackendTlsPolicy(raw.namespace(), raw.name(), targets, cas, "System".equals(wellKnown),
                hostname == null ? "" : hostname, sans, raw.created());
    }
}
