package io.mesh.pilot.model;

import static io.mesh.pilot.model.GatewayApiStatusTest.status;
import static io.mesh.pilot.model.GatewayApiStatusTest.summary;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The status istiod writes for a route's mesh parents (GAMMA) of every kind: a Service or a ServiceEntry, Accepted
 * when it exists (NoMatchingParent with istiod's message when not), ResolvedRefs of its backends without ReferenceGrants.
 */
class GatewayApiMeshParentStatusTest {
    static final String ENTRY = """
            apiVersion: networking.istio.io/v1
            kind: ServiceEntry
            metadata: {name: db, namespace: demo}
            spec:
              hosts: [db.demo.svc.cluster.local]
              ports: [{number: 5432, name: tcp, protocol: TCP}]
              resolution: DNS
            ---
            """;

    static String route(String kind, String parent) {
        return """
                ---
                apiVersion: gateway.networking.k8s.io/v1alpha2
                kind: %s
                metadata: {name: r, namespace: demo}
                spec:
                  parentRefs: [%s]
                  rules: [{backendRefs: [{name: db, port: 5432}]}]
                """.formatted(kind, parent);
    }

    static GatewayApiStatus.ParentStatus parent(String yaml) {
        List<GatewayApiStatus.RouteStatus> routes = status(yaml, ServiceSource.View.EMPTY).routes();
        assertEquals(1, routes.size(), routes::toString);
        assertEquals(1, routes.get(0).parents().size());
        return routes.get(0).parents().get(0);
    }

    @Test
    void tcpRoutesServiceParentIsAcceptedWithItsBackends() {
        GatewayApiStatus.ParentStatus p = parent(ENTRY + route("TCPRoute", "{group: \"\", kind: Service, name: db}"));
        assertEquals(List.of("Accepted=True/Accepted", "ResolvedRefs=True/ResolvedRefs"), summary(p.conditions()));
        assertEquals("demo", p.namespace());
    }

    @Test
    void tlsRoutesServiceEntryParentIsAccepted() {
        GatewayApiStatus.ParentStatus p = parent(ENTRY + route("TLSRoute",
                "{group: networking.istio.io, kind: ServiceEntry, name: db}"));
        assertEquals(List.of("Accepted=True/Accepted", "ResolvedRefs=True/ResolvedRefs"), summary(p.conditions()));
        assertEquals("ServiceEntry", p.parentRef().kind());
    }

    @Test
    void missingParentsAreNoMatchingParentWithIstiodsMessage() {
        GatewayApiStatus.ParentStatus service = parent(ENTRY + route("TCPRoute",
                "{group: \"\", kind: Service, name: nope}"));
        assertEquals("NoMatchingParent", service.conditions().get(0).reason());
        assertEquals("parent service: \"nope\" not found", service.conditions().get(0).message());
        GatewayApiStatus.ParentStatus entry = parent(ENTRY + route("TLSRoute",
                "{group: networking.istio.io, kind: ServiceEntry, name: nope, namespace: other}"));
        assertEquals("NoMatchingParent", entry.conditions().get(0).reason());
        assertEquals("parent service entry: \"nope\" not found", entry.conditions().get(0).message());
        assertEquals("other", entry.namespace());
    }
}
