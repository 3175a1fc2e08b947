package io.mesh.injector;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/**
 * Every setting of injector, under {@code mesh.injector.*}. Environment variables override
 * ({@code MESH_INJECTOR_MONITORING_PORT}, ...). Defaults live only here.
 */
@ConfigMapping(prefix = "mesh.injector")
public interface InjectorConfig {

    /** The Quarkus HTTP port serving /q/health, /q/metrics and /debug/*. */
    @WithDefault("15014")
    int monitoringPort();
}
