package io.mesh.injector.inject;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class MeshSettingsTest {

    @Test
    void unusableProxySettingStopsTheStartWithItsName() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new MeshSettings("mesh/gateway:1",
                "IfNotPresent", 1337, "100m", "lots", "2000m", "1024Mi", false, "*", "p:1", "c:2", "cluster.local",
                "istio-ca", "istio-ca-root-cert"));
        assertEquals("mesh.injector.proxy.memory-request: 'lots' is not a resource quantity (e.g. 100m, 0.5, 128Mi)", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new MeshSettings("mesh/gateway:1", "IfNotPresent", 0, "100m",
                "128Mi", "2000m", "1024Mi", false, "*", "p:1", "c:2", "cluster.local", "istio-ca", "istio-ca-root-cert"));
        assertEquals("mesh.injector.proxy.termination-drain-duration: '5' is not a duration in seconds (e.g. 5s, 30s, 1.5s)",
                assertThrows(IllegalArgumentException.class, () -> new MeshSettings("mesh/gateway:1", "IfNotPresent", 1337,
                        "100m", "128Mi", "2000m", "1024Mi", false, "*", "p:1", "c:2", "cluster.local", "istio-ca",
                        "istio-ca-root-cert", "5")).getMessage());
    }
}
