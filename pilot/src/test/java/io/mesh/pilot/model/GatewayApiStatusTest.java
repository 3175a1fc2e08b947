package io.mesh.pilot.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.mesh.config.ConfigKey;
import io.mesh.config.ConfigValidator;
import io.mesh.config.RawResource;
import io.mesh.config.YamlDocuments;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** The status istiod writes on Gateway API objects, with its reasons, for what pilot does not serve. */
class GatewayApiStatusTest {

    static GatewayApiStatus.Result status(String yaml, ServiceSource.View view) {
        Map<ConfigKey, Object> config = new TreeMap<>();
        for (RawResource raw : YamlDocuments.parse(yaml, "t.yaml").resources()) {
            ConfigValidator.Result r = ConfigValidator.validate(raw);
            assertEquals(List.of(), r.errors());
            config.put(raw.key(), r.model());
        }
        return GatewayApiTranslation.status(config, view, Map.of());
    }

    static final String GATEWAY = """
            apiVersion: gateway.networking.k8s.io/v1
            kind: Gateway
            metadata: {name: edge, namespace: istio-system}
            spec:
              gatewayClassName: istio
              listeners:
              - {name: http, port: 80, protocol: HTTP}
              - name: https
                port: 443
                protocol: HTTPS
                tls: {certificateRefs: [{name: edge-cert}]}
            ---
            apiVersion: gateway.networking.k8s.io/v1
            kind: HTTPRoute
            metadata: {name: web, namespace: demo}
            spec:
              parentRefs: [{name: edge, namespace: istio-system, sectionName: http}]
              rules: [{backendRefs: [{name: web, port: 80}]}]
            """;

    static List<String> summary(List<GatewayApiStatus.Condition> conditions) {
        return conditions.stream().map(c -> c.type() + "=" + c.status() + "/" + c.reason()).toList();
    }

    @Test
    void gatewayWithoutItsServiceIsNotProgrammedForWantOfAnAddress() {
        GatewayApiStatus.GatewayStatus g = status(GATEWAY, ServiceSource.View.EMPTY).gateways().get(0);
        assertEquals(List.of("Accepted=True/Accepted", "Programmed=False/AddressNotAssigned"), summary(g.conditions()));
        assertEquals(List.of("Accepted=True/Accepted", "ResolvedRefs=False/InvalidCertificateRef",
                "Programmed=False/Invalid"), summary(g.listeners().get(1).conditions()));
    }

    @Test
    void routeFromAnotherNamespaceIsNotAcceptedByASameNamespaceListenerAndItsMissingBackendIsReported() {
        ServiceSource.View view = new ServiceSource.View(List.of(), Map.of(), List.of(), List.of(),
                Map.of("edge-istio.istio-system.svc.cluster.local", Map.of("gateway", "edge")));
        GatewayApiStatus.Result r = status(GATEWAY, view);
        assertEquals(List.of("Accepted=True/Accepted", "Programmed=True/Programmed"),
                summary(r.gateways().get(0).conditions()));
        assertEquals(0, r.gateways().get(0).listeners().get(0).attachedRoutes());
        assertEquals(List.of("Accepted=False/NotAllowedByListeners", "ResolvedRefs=False/BackendNotFound"),
                summary(r.routes().get(0).parents().get(0).conditions()));
    }

    static final String ROUTE_KINDS = """
            apiVersion: gateway.networking.k8s.io/v1
            kind: Gateway
            metadata: {name: edge, namespace: istio-system}
            spec:
              gatewayClassName: istio
              listeners:
              - {name: http, port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}
              - {name: tls, port: 443, protocol: TLS, hostname: db.example.com, tls: {mode: Passthrough},
                 allowedRoutes: {namespaces: {from: All}}}
              - {name: tcp, port: 9000, protocol: TCP, allowedRoutes: {namespaces: {from: All}}}
              - {name: dns, port: 53, protocol: UDP}
            ---
            apiVersion: gateway.networking.k8s.io/v1
            kind: GRPCRoute
            metadata: {name: greeter, namespace: demo}
            spec:
              parentRefs: [{name: edge, namespace: istio-system}]
              rules: [{backendRefs: [{name: greeter, port: 9000}]}]
            ---
            apiVersion: gateway.networking.k8s.io/v1alpha2
            kind: TLSRoute
            metadata: {name: db, namespace: demo}
            spec:
              parentRefs: [{name: edge, namespace: istio-system}]
              rules: [{backendRefs: [{name: db, port: 5432}]}]
            ---
            apiVersion: gateway.networking.k8s.io/v1alpha2
            kind: TCPRoute
            metadata: {name: cache, namespace: demo}
            spec:
              parentRefs: [{name: edge, namespace: istio-system, sectionName: http}]
              rules: [{backendRefs: [{name: cache, namespace: other, port: 6379}]}]
            """;

    @Test
    void listenersSayWhichRouteKindsTheyTakeAndEachKindsRoutesGetTheirParentsStatus() {
        ServiceSource.View view = new ServiceSource.View(List.of(), Map.of(), List.of(), List.of(),
                Map.of("edge-istio.istio-system.svc.cluster.local", Map.of("gateway", "edge")));
        GatewayApiStatus.Result r = status(ROUTE_KINDS, view);
        List<GatewayApiStatus.ListenerStatus> listeners = r.gateways().get(0).listeners();
        assertEquals(List.of(List.of("HTTPRoute", "GRPCRoute"), List.of("TLSRoute"), List.of("TCPRoute"), List.of()),
                listeners.stream().map(GatewayApiStatus.ListenerStatus::supportedKinds).toList());
        // The GRPCRoute on the HTTP listener, the TLSRoute on the TLS one; the TCPRoute names the HTTP listener.
        assertEquals(List.of(1, 1, 0, 0), listeners.stream().map(GatewayApiStatus.ListenerStatus::attachedRoutes)
                .toList());
        assertEquals(List.of("Accepted=False/UnsupportedProtocol", "ResolvedRefs=True/ResolvedRefs",
                "Programmed=False/Invalid"), summary(listeners.get(3).conditions()));
        Map<String, GatewayApiStatus.RouteStatus> routes = new TreeMap<>();
        r.routes().forEach(rs -> routes.put(rs.kind() + " " + rs.name(), rs));
        assertEquals(Set.of("GRPCRoute greeter", "TLSRoute db", "TCPRoute cache"), routes.keySet());
        assertEquals(List.of("Accepted=True/Accepted", "ResolvedRefs=False/BackendNotFound"),
                summary(routes.get("GRPCRoute greeter").parents().get(0).conditions()));
        assertEquals(List.of("Accepted=True/Accepted", "ResolvedRefs=False/BackendNotFound"),
                summary(routes.get("TLSRoute db").parents().get(0).conditions()));
        // A TCPRoute on an HTTP listener is not allowed there; its backend in another namespace is not permitted.
        List<GatewayApiStatus.Condition> tcp = routes.get("TCPRoute cache").parents().get(0).conditions();
        assertEquals(List.of("Accepted=False/NotAllowedByListeners", "ResolvedRefs=False/RefNotPermitted"),
                summary(tcp));
        assertEquals("kind TCPRoute is not allowed on a listener of protocol HTTP (NotAllowedByListeners)",
                tcp.get(0).message());
    }

    @Test
    void allowedRouteKindsTheListenerCannotTakeAreInvalidRouteKinds() {
        GatewayApiStatus.Result r = status(ROUTE_KINDS.replace(
                "{name: http, port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}",
                "{name: http, port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: All}, kinds: [{kind: GRPCRoute},"
                        + " {kind: TLSRoute}]}}"), ServiceSource.View.EMPTY);
        GatewayApiStatus.ListenerStatus http = r.gateways().get(0).listeners().get(0);
        assertEquals(List.of("GRPCRoute"), http.supportedKinds());
        assertEquals("ResolvedRefs=False/InvalidRouteKinds", summary(http.conditions()).get(1));
        assertEquals(List.of("ResolvedRefs=True/ResolvedRefs"), summary(r.gateways().get(0).listeners().get(2)
                .conditions()).subList(1, 2));
    }
}
