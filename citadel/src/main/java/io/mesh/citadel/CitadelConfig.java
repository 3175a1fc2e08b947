package io.mesh.citadel;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/**
 * Every setting of citadel, under {@code mesh.citadel.*}. Environment variables override
 * ({@code MESH_CITADEL_MONITORING_PORT}, ...). Defaults live only here.
 */
@ConfigMapping(prefix = "mesh.citadel")
public interface CitadelConfig {

    /** The Quarkus HTTP port serving /q/health, /q/metrics and /debug/*. */
    @WithDefault("15014")
    int monitoringPort();
}
