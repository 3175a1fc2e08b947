package io.mesh.telemetry;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/**
 * Every setting of telemetry, under {@code mesh.telemetry.*}. Environment variables override
 * ({@code MESH_TELEMETRY_MONITORING_PORT}, ...). Defaults live only here.
 */
@ConfigMapping(prefix = "mesh.telemetry")
public interface TelemetryConfig {

    /** The Quarkus HTTP port serving /q/health, /q/metrics and /debug/*. */
    @WithDefault("15014")
    int monitoringPort();
}
