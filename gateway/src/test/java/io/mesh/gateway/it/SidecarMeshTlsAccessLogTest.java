package io.mesh.gateway.it;

import java.util.Map;

/** {@link SidecarMeshTlsAccessLog} on the fast path (the default): the inbound mTLS and the outbound requests. */
class SidecarMeshTlsAccessLogTest extends SidecarMeshTlsAccessLog {
    @Override
    Map<String, String> pathSettings() {
        return Map.of();
    }

    @Override
    void afterCalls() {
        org.junit.jupiter.api.Assertions.assertTrue(gw.gateway.dataPlane().fastPathRequests() >= 6,
                "both sides' requests took the fast path: " + gw.gateway.dataPlane().fastPathRequests());
    }
}
