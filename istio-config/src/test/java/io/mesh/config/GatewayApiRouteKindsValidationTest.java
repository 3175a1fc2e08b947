package io.mesh.config;

import static io.mesh.config.GatewayApiValidationTest.assertRejected;
import static io.mesh.config.GatewayApiValidationTest.validate;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The Kubernetes Gateway API's GRPCRoute (v1), TLSRoute and TCPRoute (v1alpha2), and Gateway listeners of protocol TLS
 * and TCP, are read and validated as their CRD schemas and istiod's conversion check them; bad input is rejected
 * naming the field.
 */
class GatewayApiRouteKindsValidationTest {

    static final String GRPC_ROUTE = """
            apiVersion: gateway.networking.k8s.io/v1
            kind: GRPCRoute
            metadata: {name: greeter, namespace: demo}
            spec:
              parentRefs: [{name: edge, namespace: istio-system, sectionName: http}]
              hostnames: [grpc.example.com]
              rules:
              - matches:
                - method: {service: helloworld.Greeter, method: SayHello}
                  headers: [{name: X-Canary, value: "yes"}]
                - method: {type: RegularExpression, service: "helloworld\\\\..*"}
                filters:
                - type: RequestHeaderModifier
                  requestHeaderModifier: {set: [{name: x-via, value: edge}]}
                - type: RequestMirror
                  requestMirror: {backendRef: {name: greeter-shadow, port: 9000}}
                backendRefs:
                - {name: greeter, port: 9000, weight: 3}
                - name: greeter-v2
                  port: 9000
                  filters: [{type: ResponseHeaderModifier, responseHeaderModifier: {add: [{name: x-v, value: "2"}]}}]
            """;

    @Test
    void grpcRouteIsReadWithMethodAndHeaderMatchesFiltersAndWeightedBackends() {
        ConfigValidator.Result r = validate(GRPC_ROUTE);
        assertTrue(r.valid(), r.reason());
        KubernetesGrpcRoute g = (KubernetesGrpcRoute) r.model();
        assertEquals(List.of(new KubernetesHttpRoute.ParentRef(Kind.GATEWAY_API, "Gateway", "istio-system", "edge",
                "http", null)), g.parentRefs());
        assertEquals(List.of("grpc.example.com"), g.hostnames());
        KubernetesGrpcRoute.Rule rule = g.rules().get(0);
        assertEquals(new KubernetesGrpcRoute.Match(new KubernetesGrpcRoute.MethodMatch("Exact", "helloworld.Greeter",
                "SayHello"), List.of(new KubernetesHttpRoute.ValueMatch("Exact", "x-canary", "yes"))),
                rule.matches().get(0));
        assertEquals(new KubernetesGrpcRoute.MethodMatch("RegularExpression", "helloworld\\..*", null),
                rule.matches().get(1).method());
        assertEquals(List.of("RequestHeaderModifier", "RequestMirror"), rule.filters().stream()
                .map(KubernetesHttpRoute.Filter::type).toList());
        assertEquals("greeter-shadow", rule.filters().get(1).mirror().backend().name());
        assertEquals(List.of(3, 1), rule.backendRefs().stream().map(KubernetesHttpRoute.BackendRef::weight).toList());
        assertEquals(Map.of("x-v", "2"), rule.backendRefs().get(1).filters().get(0).responseHeaders().add());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "{method: {type: Exact}}                      | spec.rules[0].matches[0].method: one or both of service and method must be set",
        "{method: {service: 'hello world'}}           | spec.rules[0].matches[0].method.service: must be a fully qualified gRPC service name",
        "{method: {service: a.B, method: 'Say-Hello'}} | spec.rules[0].matches[0].method.method: must be a gRPC method name",
        "{method: {type: Prefix, service: a.B}}       | spec.rules[0].matches[0].method.type: must be Exact or RegularExpression",
        "{method: {type: RegularExpression, method: '('}} | spec.rules[0].matches[0].method.method: invalid regular expression",
        "{headers: [{name: x, value: y, type: Glob}]} | spec.rules[0].matches[0].headers[0].type: must be Exact or RegularExpression",
        "{path: {value: /}}                           | spec.rules[0].matches[0].path: unknown field",
    })
    void invalidGrpcMatchIsRejectedNamingTheField(String match, String error) {
        assertRejected("""
                apiVersion: gateway.networking.k8s.io/v1
                kind: GRPCRoute
                metadata: {name: greeter, namespace: demo}
                spec:
                  parentRefs: [{name: edge}]
                  rules: [{matches: [%s], backendRefs: [{name: greeter, port: 9000}]}]
                """.formatted(match), error);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        // A GRPCRoute has no redirect or rewrite (the Gateway API's GRPCRouteFilter types).
        "{type: URLRewrite, urlRewrite: {hostname: a}} | spec.rules[0].filters[0].type: unsupported filter type \"URLRewrite\" (this mesh serves RequestHeaderModifier, RequestMirror, ResponseHeaderModifier)",
        "{type: RequestHeaderModifier}                  | spec.rules[0].filters[0].requestHeaderModifier: is required for filter type RequestHeaderModifier",
    })
    void invalidGrpcFilterIsRejectedNamingTheField(String filter, String error) {
        assertRejected("""
                apiVersion: gateway.networking.k8s.io/v1
                kind: GRPCRoute
                metadata: {name: greeter, namespace: demo}
                spec:
                  parentRefs: [{name: edge}]
                  rules: [{filters: [%s], backendRefs: [{name: greeter, port: 9000}]}]
                """.formatted(filter), error);
    }

    @Test
    void tlsRouteIsReadWithItsSniHostnamesAndBackends() {
        ConfigValidator.Result r = validate("""
                apiVersion: gateway.networking.k8s.io/v1alpha2
                kind: TLSRoute
                metadata: {name: db, namespace: demo}
                spec:
                  parentRefs: [{name: edge, namespace: istio-system, sectionName: tls}]
                  hostnames: [db.example.com]
                  rules:
                  - backendRefs: [{name: db, port: 5432, weight: 9}, {name: db-v2, port: 5432}]
                """);
        assertTrue(r.valid(), r.reason());
        KubernetesL4Route t = (KubernetesL4Route) r.model();
        assertEquals(Kind.TLS_ROUTE, t.kind());
        assertEquals(List.of("db.example.com"), t.hostnames());
        assertEquals(List.of("db", "db-v2"), t.rules().get(0).backendRefs().stream()
                .map(KubernetesHttpRoute.BackendRef::name).toList());
        assertEquals(List.of(9, 1), t.rules().get(0).backendRefs().stream()
                .map(KubernetesHttpRoute.BackendRef::weight).toList());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "TCPRoute | hostnames: [a.example.com]                         | spec.hostnames: unknown field",
        "TCPRoute | rules: []                                          | spec.rules: at least one rule is required",
        "TCPRoute | rules: [{}]                                        | spec.rules[0].backendRefs: at least one backendRef is required",
        "TCPRoute | rules: [{backendRefs: [{name: db}]}]               | spec.rules[0].backendRefs[0].port: is required when the backend is a Service",
        "TLSRoute | rules: [{backendRefs: [{name: db, port: 1, filters: []}]}] | spec.rules[0].backendRefs[0].filters: is not a field of a TLSRoute backendRef",
        "TLSRoute | hostnames: ['*']                                    | spec.hostnames[0]: \"*\" is not a hostname",
        "TLSRoute | rules: [{backendRefs: [{name: db.demo, port: 1}]}]  | spec.rules[0].backendRefs[0].name: must be the name of the Service, not a host name",
    })
    void invalidL4RouteIsRejectedNamingTheField(String kind, String change, String error) {
        String field = change.substring(0, change.indexOf(':'));
        assertRejected("""
                apiVersion: gateway.networking.k8s.io/v1alpha2
                kind: %s
                metadata: {name: db, namespace: demo}
                spec:
                  parentRefs: [{name: edge}]
                  %s
                  %s
                """.formatted(kind, change, field.equals("rules") ? "" : "rules: [{backendRefs: [{name: db, port: 5432}]}]"), error);
    }

    @Test
    void l4RoutesAreServedAtV1alpha2Only() {
        ConfigValidator.Result r = validate("""
                apiVersion: gateway.networking.k8s.io/v1
                kind: TCPRoute
                metadata: {name: db, namespace: demo}
                spec: {parentRefs: [{name: edge}], rules: [{backendRefs: [{name: db, port: 5432}]}]}
                """);
        assertTrue(r.reason().contains("apiVersion: \"gateway.networking.k8s.io/v1\" is not a version of TCPRoute (use"
                + " gateway.networking.k8s.io/v1alpha2)"), r.reason());
    }

    @Test
    void tlsAndTcpListenersAreServedAndUdpIsAWarning() {
        ConfigValidator.Result r = validate("""
                apiVersion: gateway.networking.k8s.io/v1
                kind: Gateway
                metadata: {name: edge, namespace: istio-system}
                spec:
                  gatewayClassName: istio
                  listeners:
                  - {name: tls, port: 8443, protocol: TLS, hostname: db.example.com, tls: {mode: Passthrough}}
                  - {name: tcp, port: 9000, protocol: TCP, allowedRoutes: {kinds: [{kind: TCPRoute}, {group: example.com, kind: Foo}]}}
                  - {name: dns, port: 53, protocol: UDP}
                """);
        assertTrue(r.valid(), r.reason());
        KubernetesGateway g = (KubernetesGateway) r.model();
        assertEquals(new KubernetesGateway.Tls("Passthrough", List.of()), g.listeners().get(0).tls());
        assertEquals("TCP", g.listeners().get(1).protocol());
        // allowedRoutes.kinds as named; another group's kind is kept by group (pilot counts it as a kind not served).
        assertEquals(List.of("TCPRoute", "example.com/Foo"), g.listeners().get(1).kinds());
        assertEquals(List.of(), g.listeners().get(0).kinds());
        assertEquals(List.of("spec.listeners[1].allowedRoutes.kinds[1]: only HTTPRoute, GRPCRoute, TLSRoute and"
                + " TCPRoute are served by this mesh; routes of kind Foo are not read",
                "spec.listeners[2]: protocol UDP is not served by this mesh (HTTP, HTTPS, TLS and TCP"
                + " listeners are): this listener gets no server"), r.warnings());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "{name: tls, port: 443, protocol: TLS}                                   | spec.listeners[0].tls: is required for protocol TLS",
        "{name: tls, port: 443, protocol: TLS, tls: {mode: Passthrough, certificateRefs: [{name: c}]}} | spec.listeners[0].tls.certificateRefs: must be empty in mode Passthrough",
        "{name: tcp, port: 9000, protocol: TCP, tls: {mode: Passthrough}}        | spec.listeners[0].tls: must not be set for protocol TCP",
    })
    void invalidTlsOrTcpListenerIsRejectedNamingTheField(String listener, String error) {
        assertRejected("""
                apiVersion: gateway.networking.k8s.io/v1
                kind: Gateway
                metadata: {name: edge, namespace: istio-system}
                spec:
                  gatewayClassName: istio
                  listeners: [%s]
                """.formatted(listener), error);
    }
}
