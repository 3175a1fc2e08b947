package io.mesh.pilot.generator;

import static io.mesh.pilot.generator.SidecarFixtures.snapshot;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.mesh.pilot.model.MeshSnapshot;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A workload's mTLS mode composed as istiod's ComposePeerAuthentication: mesh, namespace and workload levels, the
 * oldest policy of a level winning, UNSET keeping the level above's, port-level modes on top of the workload's.
 */
class PeerAuthnTest {
    static final Map<String, String> REVIEWS = Map.of("app", "reviews");

    static String pa(String namespace, String name, String created, String spec) {
        return """
                ---
                apiVersion: security.istio.io/v1
                kind: PeerAuthentication
                metadata: {name: %s, namespace: %s, creationTimestamp: "%s"}
                spec: %s
                """.formatted(name, namespace, created, spec);
    }

    static String mode(MeshSnapshot s, int port) {
        return SidecarInbound.mtlsMode("bookinfo", REVIEWS, s, port);
    }

    @Test
    void aWorkloadPolicyWithoutAModeKeepsTheNamespacesAndChangesOnlyItsPort() {
        MeshSnapshot s = snapshot(pa("bookinfo", "strict", "2026-01-01T00:00:00Z", "{mtls: {mode: STRICT}}")
                + pa("bookinfo", "metrics-port", "2026-01-02T00:00:00Z",
                        "{selector: {matchLabels: {app: reviews}}, portLevelMtls: {\"9090\": {mode: DISABLE}}}"));
        assertEquals("STRICT", mode(s, 9080), "UNSET at the workload level inherits the namespace's STRICT");
        assertEquals("DISABLE", mode(s, 9090));
    }

    @Test
    void aPortLevelUnsetTakesTheWorkloadsMode() {
        MeshSnapshot s = snapshot(pa("istio-system", "mesh", "2026-01-01T00:00:00Z", "{mtls: {mode: STRICT}}")
                + pa("bookinfo", "reviews", "2026-01-02T00:00:00Z",
                        "{selector: {matchLabels: {app: reviews}}, mtls: {mode: PERMISSIVE}, portLevelMtls: {\"9090\": {mode: UNSET}}}"));
        assertEquals("PERMISSIVE", mode(s, 9080));
        assertEquals("PERMISSIVE", mode(s, 9090));
    }

    @Test
    void theOldestPolicyOfALevelWins() {
        MeshSnapshot s = snapshot(pa("bookinfo", "a-newer", "2026-03-01T00:00:00Z", "{mtls: {mode: DISABLE}}")
                + pa("bookinfo", "z-older", "2026-01-01T00:00:00Z", "{mtls: {mode: STRICT}}"));
        assertEquals("STRICT", mode(s, 9080));
    }

    @Test
    void aRootNamespacePolicyWithASelectorIsNoWorkloadPolicyAndNothingAtAllIsPermissive() {
        MeshSnapshot s = snapshot(pa("istio-system", "selecting", "2026-01-01T00:00:00Z",
                "{selector: {matchLabels: {app: reviews}}, mtls: {mode: STRICT}}"));
        assertEquals("PERMISSIVE", mode(s, 9080));
        assertEquals("PERMISSIVE", mode(snapshot(""), 9080));
    }
}
