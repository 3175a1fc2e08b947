package io.mesh.pilot.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mesh.config.ConfigKey;
import io.mesh.config.ConfigValidator;
import io.mesh.config.Gateway;
import io.mesh.config.RawResource;
import io.mesh.config.VirtualService;
import io.mesh.config.YamlDocuments;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Cross-namespace references of the Gateway API and listeners' namespace selectors, as istiod decides them: a
 * ReferenceGrant in the target's namespace permits a route's backendRef or a Gateway's certificateRef there (status
 * ResolvedRefs True), none (or one for another name or kind) leaves it refused (RefNotPermitted); a listener with
 * {@code from: Selector} admits the routes of the namespaces whose labels match its matchLabels and matchExpressions.
 */
class GatewayApiReferencesTest {
    static final String GATEWAY = """
            apiVersion: gateway.networking.k8s.io/v1
            kind: Gateway
            metadata: {name: edge, namespace: istio-system}
            spec:
              gatewayClassName: istio
              addresses: [{type: Hostname, value: edge-istio}]
              listeners:
              - name: http
                port: 80
                protocol: HTTP
                allowedRoutes: {namespaces: {from: All}}
              - name: https
                port: 443
                protocol: HTTPS
                tls: {certificateRefs: [{name: edge-cert, namespace: certs}]}
              - name: shared
                port: 8080
                protocol: HTTP
                allowedRoutes:
                  namespaces:
                    from: Selector
                    selector:
                      matchLabels: {shared-gateway: "true"}
                      matchExpressions: [{key: env, operator: NotIn, values: [dev]}]
            ---
            apiVersion: gateway.networking.k8s.io/v1
            kind: HTTPRoute
            metadata: {name: web, namespace: demo}
            spec:
              parentRefs: [{name: edge, namespace: istio-system, sectionName: http}]
              hostnames: [web.example.com]
              rules: [{backendRefs: [{name: api, namespace: backends, port: 80}]}]
            ---
            apiVersion: gateway.networking.k8s.io/v1
            kind: HTTPRoute
            metadata: {name: shop, namespace: shop}
            spec:
              parentRefs: [{name: edge, namespace: istio-system, sectionName: shared}]
              hostnames: [shop.example.com]
              rules: [{backendRefs: [{name: shop, port: 80}]}]
            """;

    static String grant(String from, String to) {
        return """
                ---
                apiVersion: gateway.networking.k8s.io/v1beta1
                kind: ReferenceGrant
                metadata: {name: grant, namespace: %s}
                spec:
                  from: [%s]
                  to: [%s]
                """.formatted(to.contains("Secret") ? "certs" : "backends", from, to);
    }

    static final String ROUTES_TO_API = grant("{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: demo}",
            "{group: \"\", kind: Service, name: api}");
    static final String GATEWAY_TO_SECRETS = grant("{group: gateway.networking.k8s.io, kind: Gateway,"
            + " namespace: istio-system}", "{group: \"\", kind: Secret}");

    static final Set<String> SERVICES = Set.of("api.backends.svc.cluster.local", "shop.shop.svc.cluster.local",
            "edge-istio.istio-system.svc.cluster.local");
    static final Map<String, TlsCredential> CREDENTIALS = Map.of("kubernetes-gateway://certs/edge-cert",
            new TlsCredential("kubernetes-gateway://certs/edge-cert", "CHAIN", "KEY", null));

    static Map<ConfigKey, Object> config(String yaml) {
        Map<ConfigKey, Object> config = new TreeMap<>();
        for (RawResource raw : YamlDocuments.parse(yaml, "test.yaml").resources()) {
            ConfigValidator.Result r = ConfigValidator.validate(raw);
            assertEquals(List.of(), r.errors(), raw.key().toString());
            config.put(raw.key(), r.model());
        }
        return config;
    }

    static ServiceSource.View view(Map<String, Map<String, String>> namespaces) {
        return new ServiceSource.View(List.of(), Map.of(), List.of(), List.of(),
                Map.of("edge-istio.istio-system.svc.cluster.local", Map.of("istio", "ingressgateway")), namespaces);
    }

    static GatewayApiTranslation translate(String yaml, Map<String, Map<String, String>> namespaces) {
        return GatewayApiTranslation.translate(GatewayApiTranslation.Input.of(config(yaml).values(), SERVICES,
                view(namespaces).selectors(), List.of(), CREDENTIALS.keySet(), namespaces));
    }

    /** The backends, as ServiceEntries: the status reads services from the view and the config's ServiceEntries. */
    static final String BACKENDS = """
            ---
            apiVersion: networking.istio.io/v1
            kind: ServiceEntry
            metadata: {name: api, namespace: backends}
            spec:
              hosts: [api.backends.svc.cluster.local]
              location: MESH_INTERNAL
              ports: [{number: 80, name: http, protocol: HTTP}]
              resolution: STATIC
              endpoints: [{address: 10.0.0.1}]
            ---
            apiVersion: networking.istio.io/v1
            kind: ServiceEntry
            metadata: {name: shop, namespace: shop}
            spec:
              hosts: [shop.shop.svc.cluster.local]
              location: MESH_INTERNAL
              ports: [{number: 80, name: http, protocol: HTTP}]
              resolution: STATIC
              endpoints: [{address: 10.0.0.2}]
            """;

    static GatewayApiStatus.Result status(String yaml, Map<String, Map<String, String>> namespaces) {
        return GatewayApiTranslation.status(config(yaml + BACKENDS), view(namespaces), CREDENTIALS);
    }

    static String host(GatewayApiTranslation t, String vsHost) {
        return t.virtualServices().stream().filter(vs -> vs.hosts().equals(List.of(vsHost))).findFirst()
                .map(vs -> vs.http().get(0).route().get(0).destination().host()).orElse(null);
    }

    static List<String> summary(List<GatewayApiStatus.Condition> conditions) {
        return conditions.stream().map(c -> c.type() + "=" + c.status() + "/" + c.reason()).toList();
    }

    static List<GatewayApiStatus.Condition> routeConditions(GatewayApiStatus.Result r, String name) {
        return r.routes().stream().filter(x -> x.name().equals(name)).findFirst().orElseThrow().parents().get(0)
                .conditions();
    }

    @Test
    void backendInAnotherNamespaceIsRefusedWithoutAGrantAndServedWithOne() {
        GatewayApiTranslation refused = translate(GATEWAY, Map.of());
        assertEquals("api.backends.not-permitted.svc.cluster.local", host(refused, "web.example.com"));
        assertTrue(refused.warnings().stream().anyMatch(w -> w.contains("backendRef backends/api")
                && w.contains("RefNotPermitted")), refused.warnings().toString());
        assertEquals(List.of("Accepted=True/Accepted", "ResolvedRefs=False/RefNotPermitted"),
                summary(routeConditions(status(GATEWAY, Map.of()), "web")));

        GatewayApiTranslation granted = translate(GATEWAY + ROUTES_TO_API, Map.of());
        assertEquals("api.backends.svc.cluster.local", host(granted, "web.example.com"));
        assertEquals(List.of("Accepted=True/Accepted", "ResolvedRefs=True/ResolvedRefs"),
                summary(routeConditions(status(GATEWAY + ROUTES_TO_API, Map.of()), "web")));
    }

    @Test
    void grantForAnotherNameKindOrNamespaceDoesNotPermitTheBackend() {
        for (String other : List.of(
                grant("{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: demo}",
                        "{group: \"\", kind: Service, name: other}"),
                grant("{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: shop}",
                        "{group: \"\", kind: Service}"),
                grant("{group: gateway.networking.k8s.io, kind: GRPCRoute, namespace: demo}",
                        "{group: \"\", kind: Service}"),
                grant("{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: demo}",
                        "{group: \"\", kind: Secret}").replace("namespace: certs", "namespace: backends"))) {
            assertEquals("api.backends.not-permitted.svc.cluster.local", host(translate(GATEWAY + other, Map.of()),
                    "web.example.com"), other);
        }
        // No name: every Service of the namespace.
        assertEquals("api.backends.svc.cluster.local", host(translate(GATEWAY + ROUTES_TO_API.replace(", name: api",
                ""), Map.of()), "web.example.com"));
    }

    @Test
    void certificateInAnotherNamespaceNeedsAGrantFromTheGateway() {
        GatewayApiTranslation refused = translate(GATEWAY, Map.of());
        assertTrue(refused.gateways().stream().noneMatch(g -> g.servers().get(0).port() == 443),
                refused.gateways().toString());
        GatewayApiStatus.ListenerStatus https = status(GATEWAY, Map.of()).gateways().get(0).listeners().get(1);
        assertEquals(List.of("Accepted=True/Accepted", "ResolvedRefs=False/RefNotPermitted",
                "Programmed=False/Invalid"), summary(https.conditions()));

        GatewayApiTranslation granted = translate(GATEWAY + GATEWAY_TO_SECRETS, Map.of());
        Gateway.Server server = granted.gateways().stream().map(g -> g.servers().get(0)).filter(s -> s.port() == 443)
                .findFirst().orElseThrow();
        assertEquals("kubernetes-gateway://certs/edge-cert", server.tls().credentialName());
        assertEquals(List.of("Accepted=True/Accepted", "ResolvedRefs=True/ResolvedRefs",
                "Programmed=True/Programmed"), summary(status(GATEWAY + GATEWAY_TO_SECRETS, Map.of()).gateways().get(0)
                        .listeners().get(1).conditions()));
    }

    @Test
    void selectorListenerAdmitsRoutesOfTheNamespacesItsLabelsSelect() {
        Map<String, Map<String, String>> labelled = Map.of("shop", Map.of("shared-gateway", "true", "env", "prod"),
                "demo", Map.of());
        GatewayApiTranslation admitted = translate(GATEWAY, labelled);
        assertEquals("shop.shop.svc.cluster.local", host(admitted, "shop.example.com"));
        Gateway shared = admitted.gateways().stream().filter(g -> g.name().endsWith("~shared")).findFirst()
                .orElseThrow();
        assertEquals(List.of("shop/*"), shared.servers().get(0).hosts(), "istiod's hosts: each selected namespace");
        assertEquals(List.of("Accepted=True/Accepted", "ResolvedRefs=True/ResolvedRefs"),
                summary(routeConditions(status(GATEWAY, labelled), "shop")));

        for (Map<String, String> labels : List.of(Map.<String, String>of(), Map.of("shared-gateway", "true", "env",
                "dev"), Map.of("shared-gateway", "false"))) {
            GatewayApiTranslation refused = translate(GATEWAY, Map.of("shop", labels));
            assertEquals(null, host(refused, "shop.example.com"), labels.toString());
            assertEquals(List.of("~/*"), refused.gateways().stream().filter(g -> g.name().endsWith("~shared"))
                    .findFirst().orElseThrow().servers().get(0).hosts());
            assertEquals("Accepted=False/NotAllowedByListeners", summary(routeConditions(status(GATEWAY,
                    Map.of("shop", labels)), "shop")).get(0));
        }
    }

    @Test
    void everyNamespaceCarriesItsNameLabel() {
        String byName = GATEWAY.replace("matchLabels: {shared-gateway: \"true\"}",
                "matchLabels: {kubernetes.io/metadata.name: shop}");
        // No Namespace object at all (local mode without Namespace documents): the route's namespace still has it.
        assertEquals("shop.shop.svc.cluster.local", host(translate(byName, Map.of()), "shop.example.com"));
        List<VirtualService> none = translate(byName.replace("metadata.name: shop", "metadata.name: web"), Map.of())
                .virtualServices();
        assertTrue(none.stream().noneMatch(vs -> vs.hosts().contains("shop.example.com")));
    }
}
