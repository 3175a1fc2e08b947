package io.mesh.gateway;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/**
 * Every setting of gateway, under {@code mesh.gateway.*}. Environment variables override
 * ({@code MESH_GATEWAY_MONITORING_PORT}, ...). Defaults live only here.
 */
@ConfigMapping(prefix = "mesh.gateway")
public interface GatewayConfig {

    /** The Quarkus HTTP port serving /q/health, /q/metrics and /debug/*. */
    @WithDefault("15020")
    int monitoringPort();
}
