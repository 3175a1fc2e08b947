package io.mesh.common.mode;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Where a component takes services, config and state from: the Kubernetes API, or local folders.
 * {@code mesh.mode} (env {@code MESH_MODE}) chooses; when it is unset, an in-cluster service account or a
 * configured kubeconfig selects {@link #KUBERNETES}, and anything else {@link #LOCAL}.
 */
public enum MeshMode {
    KUBERNETES,
    LOCAL;

    /** The token every pod with a service account has; its presence means "running in a cluster". */
    static final Path IN_CLUSTER_TOKEN = Path.of("/var/run/secrets/kubernetes.io/serviceaccount/token");

    public static MeshMode parse(String value) {
        try {
            return valueOf(value.strip().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("mesh.mode must be 'kubernetes' or 'local', not '" + value + "'", e);
        }
    }

    /**
     * @param configured the value of {@code mesh.mode}, if set
     * @param env the process environment (KUBECONFIG)
     * @param systemProperties Fabric8's {@code kubernetes.master}, which tests and operators may set
     * @param inClusterToken the service account token path to probe
     */
    public static MeshMode detect(Optional<String> configured, Map<String, String> env,
            Map<?, ?> systemProperties, Path inClusterToken) {
        if (configured.isPresent() && !configured.get().isBlank()) {
            return parse(configured.get());
        }
        if (Files.isReadable(inClusterToken)) {
            return KUBERNETES;
        }
        String kubeconfig = env.get("KUBECONFIG");
        if (kubeconfig != null && !kubeconfig.isBlank()) {
            return KUBERNETES;
        }
        Object master = systemProperties.get("kubernetes.master");
        return master != null && !master.toString().isBlank() ? KUBERNETES : LOCAL;
    }
}
