package io.mesh.pilot;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/**
 * Every setting of pilot, under {@code mesh.pilot.*}. Environment variables override
 * ({@code MESH_PILOT_MONITORING_PORT}, ...). Defaults live only here.
 */
@ConfigMapping(prefix = "mesh.pilot")
public interface PilotConfig {

    /** The Quarkus HTTP port serving /q/health, /q/metrics and /debug/*. */
    @WithDefault("15014")
    int monitoringPort();
}
