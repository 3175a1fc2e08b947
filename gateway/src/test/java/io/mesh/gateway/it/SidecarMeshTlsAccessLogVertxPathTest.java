package io.mesh.gateway.it;

import java.util.Map;

/** {@link SidecarMeshTlsAccessLog} on the Vert.x path ({@code listeners.fast-path=false}). */
class SidecarMeshTlsAccessLogVertxPathTest extends SidecarMeshTlsAccessLog {
    @Override
    Map<String, String> pathSettings() {
        return Map.of("mesh.gateway.listeners.fast-path", "false");
    }

    @Override
    void afterCalls() {
        org.junit.jupiter.api.Assertions.assertEquals(0, gw.gateway.dataPlane().fastPathRequests());
    }
}
