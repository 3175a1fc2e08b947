package io.mesh.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A route's mesh parents (GAMMA) as istiod takes them: a Service (group "" or core) or an Istio ServiceEntry (group
 * networking.istio.io) of any route kind; a parent of another group or kind is accepted with a warning naming the
 * parentRef (istiod skips it silently), e.g. a ServiceEntry or Service whose group was left out (the Gateway API's).
 */
class GatewayApiMeshParentValidationTest {
    static ConfigValidator.Result validate(String kind, String parent) {
        return GatewayApiValidationTest.validate("""
                apiVersion: gateway.networking.k8s.io/v1alpha2
                kind: %s
                metadata: {name: r, namespace: demo}
                spec:
                  parentRefs: [%s]
                  rules: [{backendRefs: [{name: db, port: 5432}]}]
                """.formatted(kind, parent));
    }

    @Test
    void serviceAndServiceEntryParentsOfL4RoutesAreMeshParents() {
        ConfigValidator.Result service = validate("TCPRoute", "{group: \"\", kind: Service, name: db, port: 5432}");
        assertTrue(service.valid(), service.reason());
        assertEquals(List.of(), service.warnings());
        assertTrue(((KubernetesL4Route) service.model()).parentRefs().get(0).mesh());

        ConfigValidator.Result entry = validate("TLSRoute", "{group: networking.istio.io, kind: ServiceEntry, name: db}");
        assertTrue(entry.valid(), entry.reason());
        assertEquals(List.of(), entry.warnings());
        KubernetesHttpRoute.ParentRef ref = ((KubernetesL4Route) entry.model()).parentRefs().get(0);
        assertTrue(ref.serviceEntry() && ref.mesh() && !ref.service());
    }

    @Test
    void parentOfAnotherGroupOrKindIsAcceptedWithAWarningNamingIt() {
        ConfigValidator.Result r = validate("TCPRoute", "{kind: ServiceEntry, name: db}");
        assertTrue(r.valid(), r.reason());
        assertEquals(1, r.warnings().size(), r.warnings().toString());
        String w = r.warnings().get(0);
        assertTrue(w.contains("spec.parentRefs[0]") && w.contains("group \"gateway.networking.k8s.io\" kind"
                + " \"ServiceEntry\" is not a parent this mesh takes"), w);
    }
}
