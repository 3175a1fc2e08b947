package io.mesh.config;

import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The mTLS mode a workload gets from the PeerAuthentications, composed as istiod's
 * {@code authn.ComposePeerAuthentication}: of each level the oldest policy counts (by creation time, then by name for
 * those without one): the root namespace's without a selector (mesh), the workload namespace's without one
 * (namespace), and one in the workload's namespace whose selector matches it (workload; a root-namespace policy with a
 * selector is no workload policy). Each level that sets a mode overrides the one above; UNSET (or no mode) keeps it.
 * A workload policy's port-level modes do the same for their ports. No policy at all: PERMISSIVE.
 *
 * @param mode     the workload's mode: STRICT, PERMISSIVE or DISABLE
 * @param portModes the workload policy's port-level modes, by port, UNSET ones resolved to {@code mode}
 */
public record MutualTlsMode(String mode, Map<Integer, String> portModes) {

    private static final Comparator<PolicyConfig.PeerAuthentication> OLDEST = Comparator
            .comparing((PolicyConfig.PeerAuthentication pa) -> pa.created() == null ? Instant.MAX : pa.created())
            .thenComparing(PolicyConfig.PeerAuthentication::name);

    public MutualTlsMode {
        portModes = java.util.Collections.unmodifiableMap(new TreeMap<>(portModes));
    }

    /** The mode on one port of the workload. */
    public String modeFor(int port) {
        return portModes.getOrDefault(port, mode);
    }

    /**
     * Whether a policy applies to a workload of {@code namespace} with {@code labels}, as istioctl describe lists them:
     * one of its namespace or of the root namespace, without a selector or with one that matches.
     */
    public static boolean applies(PolicyConfig.PeerAuthentication pa, String rootNamespace, String namespace,
            Map<String, String> labels) {
        return (pa.namespace().equals(namespace) || pa.namespace().equals(rootNamespace))
                && labels.entrySet().containsAll(pa.selector().entrySet());
    }

    public static MutualTlsMode compose(List<PolicyConfig.PeerAuthentication> policies, String rootNamespace,
            String namespace, Map<String, String> labels) {
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
        Map<Integer, String> ports = new TreeMap<>();
        if (workload != null) {
            String workloadMode = mode;
            workload.portLevelMtls().forEach((port, m) -> ports.put(port, "UNSET".equals(m) ? workloadMode : m));
        }
        return new MutualTlsMode(mode, ports);
    }

    private static PolicyConfig.PeerAuthentication oldest(PolicyConfig.PeerAuthentication current,
            PolicyConfig.PeerAuthentication candidate) {
        return current == null || OLDEST.compare(candidate, current) < 0 ? candidate : current;
    }
}
