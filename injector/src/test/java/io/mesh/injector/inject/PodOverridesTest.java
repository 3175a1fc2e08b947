package io.mesh.injector.inject;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.mesh.injector.Fixtures;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class PodOverridesTest {

    @ParameterizedTest(name = "{0}: {1}")
    @CsvSource(delimiter = '|', value = {
        "sidecar.istio.io/proxyCPU                         | lots          | is not a resource quantity",
        "sidecar.istio.io/proxyMemory                      | 12 Mi         | is not a resource quantity",
        "sidecar.istio.io/proxyMemoryLimit                 | -1Gi          | is not a resource quantity",
        "traffic.sidecar.istio.io/includeOutboundIPRanges  | 10.0.0.0/33   | is not an IP range in CIDR form",
        "traffic.sidecar.istio.io/includeOutboundIPRanges  | example.com   | is not an IP range in CIDR form",
        "traffic.sidecar.istio.io/excludeOutboundIPRanges  | *             | is not an IP range in CIDR form",
        "traffic.sidecar.istio.io/excludeInboundPorts      | 8080,http     | is not a port (1-65535)",
        "traffic.sidecar.istio.io/excludeOutboundPorts     | 70000         | is not a port (1-65535)",
        "proxy.istio.io/config                             | 'holdApplicationUntilProxyStarts: sometimes' | must be true or false",
        "proxy.istio.io/config                             | '[1, 2]'      | must be a YAML map",
        "proxy.istio.io/config                             | 'a: [b'       | is not valid YAML",
        "proxy.istio.io/config                             | 'proxyMetadata: {BAD-NAME: x}' | is not an environment variable name",
        "proxy.istio.io/config                             | 'terminationDrainDuration: 1m' | must be a duration in seconds",
        "proxy.istio.io/config                             | 'terminationDrainDuration: 30' | must be a duration in seconds",
        "proxy.istio.io/config                             | 'terminationDrainDuration: -5s' | must be a duration in seconds",
        "proxy.istio.io/config                             | 'proxyMetadata: {EXIT_ON_ZERO_ACTIVE_CONNECTIONS: maybe}' | must be true or false",
        "proxy.istio.io/config                             | 'proxyMetadata: {MINIMUM_DRAIN_DURATION: \"5\"}' | must be a duration",
        "proxy.istio.io/config                             | 'proxyMetadata: {TERMINATION_DRAIN_DURATION_SECONDS: \"5\"}' | set terminationDrainDuration",
        "sidecar.istio.io/logLevel                         | loud          | is not a log level",
        "sidecar.istio.io/componentLogLevel                | 'router=debug' | is not name:level",
        "sidecar.istio.io/componentLogLevel                | 'router:loud' | is not name:level",
    })
    void unusableAnnotationRefusesWithItsName(String annotation, String value, String reason) {
        InjectionRefused refused = assertThrows(InjectionRefused.class, () -> PodOverrides.from(pod(Map.of(annotation, value)), Fixtures.MESH));
        assertTrue(refused.getMessage().startsWith(annotation) && refused.getMessage().contains(reason), refused.getMessage());
    }

    @Test
    void valuesAreNormalizedAndDefaultsComeFromTheMesh() {
        PodOverrides overrides = PodOverrides.from(pod(Map.of(
                "traffic.sidecar.istio.io/includeOutboundIPRanges", " 10.0.0.0/8 , fd00::/8 ",
                "traffic.sidecar.istio.io/excludeInboundPorts", "9901, 9901,15000",
                "sidecar.istio.io/proxyCPU", "0.5",
                "proxy.istio.io/config", "holdApplicationUntilProxyStarts: true\nconcurrency: 2\n")), Fixtures.MESH);
        assertEquals("10.0.0.0/8,fd00::/8", overrides.includeOutboundIpRanges());
        assertEquals("9901,15000", overrides.excludeInboundPorts());
        assertEquals("0.5", overrides.cpuRequest());
        assertEquals("128Mi", overrides.memoryRequest());
        assertEquals("*", overrides.includeInboundPorts());
        assertTrue(overrides.holdApplicationUntilProxyStarts());
        assertTrue(overrides.rewriteProbes());
        assertEquals("", overrides.logLevel());
        assertEquals("", overrides.componentLogLevel());
    }

    @Test
    void logLevelsAreTheProxysStartupLevels() {
        PodOverrides overrides = PodOverrides.from(pod(Map.of("sidecar.istio.io/logLevel", "debug",
                "sidecar.istio.io/componentLogLevel", " router:trace , config:warning ")), Fixtures.MESH);
        assertEquals("debug", overrides.logLevel());
        assertEquals("router:trace,config:warning", overrides.componentLogLevel());
    }

    @Test
    void terminationDrainDurationIsWholeSecondsWithTheMeshDefault() {
        assertEquals(5, PodOverrides.from(pod(Map.of()), Fixtures.MESH).terminationDrainSeconds(), "Istio's 5s");
        assertEquals(30, PodOverrides.from(pod(Map.of("proxy.istio.io/config", "terminationDrainDuration: 30s")),
                Fixtures.MESH).terminationDrainSeconds());
        assertEquals(1, PodOverrides.from(pod(Map.of("proxy.istio.io/config", "terminationDrainDuration: 1.5s")),
                Fixtures.MESH).terminationDrainSeconds(), "the Duration's seconds, as Istio's template writes them");
        PodOverrides exitOnZero = PodOverrides.from(pod(Map.of("proxy.istio.io/config",
                "proxyMetadata: {EXIT_ON_ZERO_ACTIVE_CONNECTIONS: \"true\", MINIMUM_DRAIN_DURATION: 1m30s}")), Fixtures.MESH);
        assertEquals("true", exitOnZero.proxyMetadata().get("EXIT_ON_ZERO_ACTIVE_CONNECTIONS"));
        assertEquals("1m30s", exitOnZero.proxyMetadata().get("MINIMUM_DRAIN_DURATION"));
    }

    private static PodView pod(Map<String, String> annotations) {
        ObjectNode pod = Fixtures.JSON.createObjectNode();
        ObjectNode values = pod.putObject("metadata").putObject("annotations");
        annotations.forEach(values::put);
        pod.putObject("spec").putArray("containers").addObject().put("name", "app");
        return new PodView(pod);
    }
}
