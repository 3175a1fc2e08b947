package io.mesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.function.BiConsumer;

/**
 * istioctl analyze's IST0128 and IST0129 (NoServerCertificateVerificationDestinationLevel and PortLevel, its
 * destinationrule.CaCertificateAnalyzer), warnings: a DestinationRule's {@code trafficPolicy.tls}, or one of its
 * {@code portLevelSettings}' tls, in SIMPLE or MUTUAL mode with no {@code caCertificates}, unless it names a
 * {@code credentialName} and the rule has a {@code workloadSelector} (the Secret then holds the CA for the selected
 * workloads). As istioctl, subsets' traffic policies are not looked at and {@code insecureSkipVerify} changes nothing.
 * Here the proxy reads no certificate files (pilot's validation says so at {@code caCertificates}): without a CA from a
 * Secret, the upstream's chain is checked against the JVM's default trust store only.
 */
final class ServerVerification {

    private ServerVerification() {
    }

    /** Reports (severity, "field.path: problem") for a DestinationRule that validated: its {@code spec}. */
    static void check(String namespace, String name, JsonNode spec, BiConsumer<String, String> report) {
        boolean selector = spec.path("workloadSelector").isObject();
        String host = spec.path("host").asText();
        JsonNode policy = spec.path("trafficPolicy");
        String mode = unverified(policy.path("tls"), selector);
        if (mode != null) {
            report.accept("warning", "spec.trafficPolicy.tls.mode: DestinationRule " + namespace + "/" + name + " in namespace "
                    + namespace + " has TLS mode set to " + mode + " but no caCertificates are set to validate server"
                    + " identity for host: " + host + " (IST0128)");
        }
        JsonNode ports = policy.path("portLevelSettings");
        for (int i = 0; i < ports.size(); i++) {
            mode = unverified(ports.get(i).path("tls"), selector);
            if (mode != null) {
                report.accept("warning", "spec.trafficPolicy.portLevelSettings[" + i + "].tls.mode: DestinationRule " + namespace
                        + "/" + name + " in namespace " + namespace + " has TLS mode set to " + mode + " but no caCertificates"
                        + " are set to validate server identity for host: " + host + " at port "
                        + ports.get(i).path("port").path("number").asText() + " (IST0129)");
            }
        }
    }

    /** The tls mode when it is SIMPLE or MUTUAL and nothing gives the server's CA; else null. */
    private static String unverified(JsonNode tls, boolean selector) {
        String mode = tls.path("mode").asText("");
        if (!mode.equals("SIMPLE") && !mode.equals("MUTUAL")) {
            return null;
        }
        boolean ca = !tls.path("caCertificates").asText("").isEmpty();
        boolean credential = !tls.path("credentialName").asText("").isEmpty() && selector;
        return ca || credential ? null : mode;
    }
}
