package io.mesh.common.mode;

import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.util.Optional;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/** Makes the component's {@link MeshMode} injectable, decided once at start. */
@Singleton
public class MeshModeProducer {

    @Produces
    @Singleton
    MeshMode meshMode(@ConfigProperty(name = "mesh.mode") Optional<String> configured) {
        return MeshMode.detect(configured, System.getenv(), System.getProperties(), MeshMode.IN_CLUSTER_TOKEN);
    }
}
