package io.mesh.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * PeerAuthentication as Istio's CRD validates it: port-level modes only in a workload policy (one with a selector),
 * as its CEL rule "portLevelMtls requires selector"; the creation time is kept, since the oldest policy of a level wins.
 */
class PeerAuthenticationValidationTest {

    static ConfigValidator.Result validate(String spec) {
        List<RawResource> raws = YamlDocuments.parse("""
                apiVersion: security.istio.io/v1
                kind: PeerAuthentication
                metadata: {name: default, namespace: bookinfo, creationTimestamp: "2026-01-02T03:04:05Z"}
                spec:
                """ + spec.indent(2), "pa.yaml").resources();
        return ConfigValidator.validate(raws.get(0));
    }

    @Test
    void portLevelMtlsWithoutASelectorIsRefusedAsIstiosCrdRefusesIt() {
        ConfigValidator.Result r = validate("""
                mtls: {mode: STRICT}
                portLevelMtls: {"9090": {mode: DISABLE}}""");
        assertEquals(List.of("spec.portLevelMtls: portLevelMtls requires selector"), r.errors());
    }

    @Test
    void aWorkloadPolicyKeepsItsPortsAndItsCreationTime() {
        ConfigValidator.Result r = validate("""
                selector: {matchLabels: {app: reviews}}
                portLevelMtls: {"9090": {mode: DISABLE}}""");
        assertTrue(r.valid(), r.reason());
        PolicyConfig.PeerAuthentication pa = (PolicyConfig.PeerAuthentication) r.model();
        assertEquals("UNSET", pa.mtlsMode());
        assertEquals(java.util.Map.of(9090, "DISABLE"), pa.portLevelMtls());
        assertEquals(java.time.Instant.parse("2026-01-02T03:04:05Z"), pa.created());
    }
}
