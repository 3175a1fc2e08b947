package io.mesh.pilot.generator;

import io.mesh.config.PolicyConfig;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * The mTLS mode a workload gets from the PeerAuthentications, composed as istiod's
 * {@code authn.ComposePeerAuthentication}: of each level the oldest policy counts (by creation time, then by name for
 * those without one): the root namespace's without a selector (mesh), the workload namespace's without one
 * (namespace), and one in the workload's namespace whose selector matches it (workload; a root-namespace policy with a
 * selector is no workload policy). Each level that sets a mode overrides the one above; UNSET (or no mode) keeps it.
 * A workload policy's port-level mode does the same for its port. No policy at all: PERMISSIVE.
 */
final class PeerAuthn {

    private static final Comparator<PolicyConfig.PeerAuthentication> OLDEST = Comparator
            .comparing((PolicyConfig.PeerAuthentication pa) -> pa.created() == null ? Instant.MAX : pa.created())
            .thenComparing(PolicyConfig.PeerAuthentication::name);

    private PeerAuthn() {
    }

    static String mode(List<PolicyConfig.PeerAuthentication> policies, String rootNamespace, String namespace,
            Map<String, String> labels, int port) {
        PolicyConfig.PeerAuthentication mesh = null;
        PolicyConfig.PeerAuthentication ns = null;
        PolicyConfig.PeerAuthentication workload = null;
        for (PolicyConfig.PeerAuthentication pa : policies) {
            if (pa.selector().isEmpty()) {
                if (pa.namespace().equals(rootNamespace)) {
                    mesh = oldest(mesh, pa);
                } else if (pa.namespace().equals(namespace)) {
                    ns = oldest(ns, pa);
                }
            } else if (!pa.namespace().equals(rootNamespace) && pa.namespace().equals(namespace)
                    && labels.entrySet().containsAll(pa.selector().entrySet())) {
                workload = oldest(workload, pa);
            }
        }
        String mode = "PERMISSIVE";
        for (PolicyConfig.PeerAuthentication level : new PolicyConfig.PeerAuthentication[] {mesh, ns, workload}) {
            if (level != null && !"UNSET".equals(level.mtlsMode())) {
                mode = level.mtlsMode();
            }
        }
        if (workload != null) {
            String portMode = workload.portLevelMtls().get(port);
            if (portMode != null && !"UNSET".equals(portMode)) {
                mode = portMode;
            }
        }
        return mode;
    }

    private static PolicyConfig.PeerAuthentication oldest(PolicyConfig.PeerAuthentication current,
            PolicyConfig.PeerAuthentication candidate) {
        return current == null || OLDEST.compare(candidate, current) < 0 ? candidate : current;
    }
}
