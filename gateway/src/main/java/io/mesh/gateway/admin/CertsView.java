package io.mesh.gateway.admin;

import com.google.protobuf.Message;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.mesh.citadel.client.CertifiedKey;
import io.mesh.gateway.identity.WorkloadIdentity;
import io.mesh.gateway.xds.SecretTranslator;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.InetAddress;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The admin port's {@code /certs}, in Envoy's shape ({@code envoy.admin.v3.Certificates}: per certificate source a
 * {@code cert_chain} and a {@code ca_cert} of CertificateDetails), with each entry's {@code name} as istio-agent names
 * its SDS resources: {@code default} (the proxy's own workload certificate from citadel), {@code ROOTCA} (the mesh's
 * roots), then every SDS secret the proxy accepted from pilot (a Gateway's {@code kubernetes://NAME} credential, its
 * {@code -cacert}). What {@code meshctl proxy-config secret} shows; keys are never shown.
 */
final class CertsView {

    private CertsView() {
    }

    static JsonObject certs(WorkloadIdentity identity, Map<String, Message> secrets, Instant now) {
        JsonArray certificates = new JsonArray();
        if (identity != null) {
            identity.current().map(CertifiedKey::chain)
                    .ifPresent(chain -> certificates.add(entry("default", "cert_chain", chain, now)));
            List<X509Certificate> roots = identity.meshRoots();
            if (!roots.isEmpty()) {
                certificates.add(entry("ROOTCA", "ca_cert", roots, now));
            }
        }
        for (Map.Entry<String, Message> e : new TreeMap<>(secrets).entrySet()) {
            if (e.getValue() instanceof Secret secret) {
                List<X509Certificate> held = SecretTranslator.certificates(secret);
                certificates.add(entry(e.getKey(), secret.hasValidationContext() ? "ca_cert" : "cert_chain", held, now));
            }
        }
        return new JsonObject().put("certificates", certificates);
    }

    private static JsonObject entry(String name, String kind, List<X509Certificate> certs, Instant now) {
        JsonArray details = new JsonArray();
        for (X509Certificate c : certs) {
            details.add(details(c, now));
        }
        return new JsonObject().put("name", name).put(kind, details)
                .put(kind.equals("ca_cert") ? "cert_chain" : "ca_cert", new JsonArray());
    }

    /** Envoy's CertificateDetails; {@code path} is {@code <inline>} as Envoy shows certificates given inline. */
    static JsonObject details(X509Certificate c, Instant now) {
        Instant notAfter = c.getNotAfter().toInstant();
        long days = now.isAfter(notAfter) ? 0 : Duration.between(now, notAfter).toDays();
        return new JsonObject().put("path", "<inline>")
                .put("serial_number", c.getSerialNumber().toString(16))
                .put("subject_alt_names", subjectAltNames(c))
                .put("days_until_expiration", Long.toString(days))
                .put("valid_from", c.getNotBefore().toInstant().toString())
                .put("expiration_time", notAfter.toString());
    }

    /** As Envoy lists them: {@code {"uri": ...}}, {@code {"dns": ...}}, {@code {"ip_address": ...}}. */
    private static JsonArray subjectAltNames(X509Certificate c) {
        JsonArray out = new JsonArray();
        Collection<List<?>> names;
        try {
            names = c.getSubjectAlternativeNames();
        } catch (CertificateParsingException e) {
            return out;
        }
        if (names == null) {
            return out;
        }
        for (List<?> name : names) {
            Object value = name.get(1);
            switch ((Integer) name.get(0)) {
                case 2 -> out.add(new JsonObject().put("dns", value));
                case 6 -> out.add(new JsonObject().put("uri", value));
                case 7 -> out.add(new JsonObject().put("ip_address", ipAddress(value)));
                default -> { }
            }
        }
        return out;
    }

    private static String ipAddress(Object value) {
        if (value instanceof String s) {
            try {
                return InetAddress.getByName(s).getHostAddress();
            } catch (java.net.UnknownHostException e) {
                return s;
            }
        }
        return String.valueOf(value);
    }
}
