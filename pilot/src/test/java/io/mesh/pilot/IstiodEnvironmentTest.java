package io.mesh.pilot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quarkus.runtime.configuration.DurationConverter;
import io.smallrye.config.EnvConfigSource;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;
import java.io.IOException;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * pilot's application.properties, read as Quarkus reads it (the file under the process environment), takes istiod's
 * variable names for the settings they share, so an istiod Deployment's env carries over; MESH_PILOT_* still wins.
 */
class IstiodEnvironmentTest {

    @Test
    void istiodsVariablesSetTheSettingsTheyNameInIstiod() throws IOException {
        PilotConfig config = config(Map.of("PILOT_SEND_UNHEALTHY_ENDPOINTS", "true", "PILOT_TRACE_SAMPLING", "42.5",
                "PILOT_DEBOUNCE_AFTER", "250ms", "PILOT_DEBOUNCE_MAX", "3s",
                "PILOT_JWT_PUB_KEY_REFRESH_INTERVAL", "5m"));

        assertTrue(config.sendUnhealthyEndpoints());
        assertEquals(42.5, config.traceSampling());
        assertEquals(Duration.ofMillis(250), config.debounce().quiet());
        assertEquals(Duration.ofSeconds(3), config.debounce().max());
        assertEquals(Duration.ofMinutes(5), config.jwks().refreshInterval());
    }

    @Test
    void withoutThemTheDefaultsAreIstiods() throws IOException {
        PilotConfig config = config(Map.of());

        assertFalse(config.sendUnhealthyEndpoints());
        assertEquals(1.0, config.traceSampling());
        assertEquals(Duration.ofMillis(100), config.debounce().quiet());
        assertEquals(Duration.ofSeconds(10), config.debounce().max());
        assertEquals(Duration.ofMinutes(20), config.jwks().refreshInterval());
    }

    @Test
    void theMeshVariableWinsOverIstiods() throws IOException {
        PilotConfig config = config(Map.of("PILOT_TRACE_SAMPLING", "42.5", "MESH_PILOT_TRACE_SAMPLING", "7",
                "PILOT_SEND_UNHEALTHY_ENDPOINTS", "true", "MESH_PILOT_SEND_UNHEALTHY_ENDPOINTS", "false"));

        assertEquals(7.0, config.traceSampling());
        assertFalse(config.sendUnhealthyEndpoints());
    }

    private static PilotConfig config(Map<String, String> environment) throws IOException {
        SmallRyeConfig config = new SmallRyeConfigBuilder()
                .addDefaultInterceptors()   // ${...} expressions
                .withConverter(Duration.class, 200, new DurationConverter())   // Quarkus's "100ms", "20m"
                .withSources(new PropertiesConfigSource(
                        IstiodEnvironmentTest.class.getClassLoader().getResource("application.properties"), 250))
                .withSources(new EnvConfigSource(environment, 300))
                .withMapping(PilotConfig.class)
                .build();
        return config.getConfigMapping(PilotConfig.class);
    }
}
