package io.mesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.mesh.config.ConfigValidator;
import io.mesh.config.MutualTlsMode;
import io.mesh.config.PolicyConfig;
import io.mesh.config.RawResource;
import io.mesh.config.YamlDocuments;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The PeerAuthentication part of {@code meshctl x describe pod}, as istioctl's {@code describePeerAuthentication}: the
 * mTLS mode the workload gets, composed by pilot's own rules ({@link MutualTlsMode}, istiod's
 * ComposePeerAuthentication), and the policies that apply to it. A policy pilot would refuse is left out, as pilot
 * leaves it out.
 */
final class PeerAuthnDescription {

    private PeerAuthnDescription() {
    }

    /** The cluster's PeerAuthentication objects (JSON) as pilot's model; those that do not validate are skipped. */
    static List<PolicyConfig.PeerAuthentication> models(List<JsonNode> objects) {
        List<PolicyConfig.PeerAuthentication> out = new ArrayList<>();
        for (JsonNode o : objects) {
            for (RawResource raw : YamlDocuments.parse(o.toString(), "cluster").resources()) {
                ConfigValidator.Result r = ConfigValidator.validate(raw);
                if (r.model() instanceof PolicyConfig.PeerAuthentication pa) {
                    out.add(pa);
                }
            }
        }
        return out;
    }

    static void print(List<PolicyConfig.PeerAuthentication> policies, String rootNamespace, String namespace,
            Map<String, String> labels, PrintWriter out) {
        MutualTlsMode merged = MutualTlsMode.compose(policies, rootNamespace, namespace, labels);
        out.println("Effective PeerAuthentication:");
        out.println("   Workload mTLS mode: " + merged.mode());
        if (!merged.portModes().isEmpty()) {
            out.println("   Port Level mTLS mode:");
            merged.portModes().forEach((port, mode) -> out.println("      " + port + ": " + mode));
        }
        List<String> applied = policies.stream().filter(pa -> MutualTlsMode.applies(pa, rootNamespace, namespace, labels))
                .map(pa -> pa.name() + "." + pa.namespace()).toList();
        if (!applied.isEmpty()) {
            out.println("Applied PeerAuthentication:");
            out.println("   " + String.join(", ", applied));
        }
    }
}
