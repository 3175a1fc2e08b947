package io.mesh.pilot.generator;

import static io.mesh.pilot.generator.SidecarFixtures.listener;
import static io.mesh.pilot.generator.SidecarFixtures.routes;
import static io.mesh.pilot.generator.SidecarFixtures.snapshot;
import static io.mesh.pilot.generator.SidecarFixtures.unpack;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.config.route.v3.QueryParameterMatcher;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.http.cors.v3.CorsPolicy;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ProxyInfo;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The parts of a VirtualService's HTTP route that istiod translates field by field: match conditions (authority,
 * scheme, withoutHeaders, presence), which proxies a match is for (gateways, sourceLabels, sourceNamespace), mirrors
 * and the CORS policy.
 */
class HttpRouteTranslationTest {

    static final String BASE = SidecarFixtures.services("svc", "demo",
            "[web.demo.svc.cluster.local, shadow.demo.svc.cluster.local, audit.demo.svc.cluster.local]",
            SidecarFixtures.HTTP_80, "{address: 10.0.0.1, ports: {http: 8081}}") + SidecarFixtures.PUBLIC_GATEWAY + "---\n";

    static ProxyInfo sidecar(String namespace, Map<String, String> labels) {
        Struct.Builder l = Struct.newBuilder();
        labels.forEach((k, v) -> l.putFields(k, Value.newBuilder().setStringValue(v).build()));
        return ProxyInfo.from(Node.newBuilder().setId("sidecar~10.1.0.9~pod-1." + namespace + "~" + namespace
                + ".svc.cluster.local").setMetadata(Struct.newBuilder().putFields("LABELS",
                        Value.newBuilder().setStructValue(l).build())).build());
    }

    static VirtualHost web(ProxyInfo proxy, MeshSnapshot s) {
        return routes(proxy, s, "80").getVirtualHostsList().stream()
                .filter(vh -> vh.getName().equals("web.demo.svc.cluster.local:80")).findFirst().orElseThrow();
    }

    static List<String> names(VirtualHost vh) {
        return vh.getRoutesList().stream().map(Route::getName).toList();
    }

    @Test
    void authoritySchemeWithoutHeadersAndPresenceBecomeEnvoyMatchers() {
        MeshSnapshot s = snapshot(BASE + """
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: web, namespace: demo}
                spec:
                  hosts: [web.demo.svc.cluster.local]
                  http:
                  - name: matched
                    match:
                    - authority: {prefix: web.}
                      scheme: {exact: http}
                      headers: {x-user: {}}
                      withoutHeaders: {x-debug: {}, x-stage: {exact: canary}}
                      queryParams: {trace: {}}
                      statPrefix: matched
                    route: [{destination: {host: web}}]
                """);
        Route r = web(sidecar("demo", Map.of()), s).getRoutes(0);
        assertEquals(List.of(
                HeaderMatcher.newBuilder().setName(":scheme").setStringMatch(StringMatcher.newBuilder().setExact("http")).build(),
                HeaderMatcher.newBuilder().setName(":authority").setStringMatch(StringMatcher.newBuilder().setPrefix("web.")).build(),
                HeaderMatcher.newBuilder().setName("x-user").setPresentMatch(true).build(),
                HeaderMatcher.newBuilder().setName("x-debug").setPresentMatch(true).setInvertMatch(true).build(),
                HeaderMatcher.newBuilder().setName("x-stage").setStringMatch(StringMatcher.newBuilder().setExact("canary"))
                        .setInvertMatch(true).build()), r.getMatch().getHeadersList());
        assertEquals(List.of(QueryParameterMatcher.newBuilder().setName("trace").setPresentMatch(true).build()),
                r.getMatch().getQueryParametersList());
    }

    @Test
    void aMatchIsLeftOutForProxiesItIsNotFor() {
        MeshSnapshot s = snapshot(BASE + """
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: web, namespace: demo}
                spec:
                  hosts: [web.demo.svc.cluster.local]
                  gateways: [mesh, istio-system/public]
                  http:
                  - name: from-app-a
                    match: [{sourceLabels: {app: a}}]
                    route: [{destination: {host: web}}]
                  - name: from-team-x
                    match: [{sourceNamespace: team-x}]
                    route: [{destination: {host: web}}]
                  - name: at-the-edge
                    match: [{gateways: [istio-system/public], uri: {prefix: /edge}}]
                    route: [{destination: {host: web}}]
                  - name: either
                    match: [{gateways: [istio-system/public], uri: {prefix: /both}}, {gateways: [mesh], uri: {prefix: /both}}]
                    route: [{destination: {host: web}}]
                  - name: rest
                    route: [{destination: {host: web}}]
                """);
        assertEquals(List.of("from-app-a", "either", "rest"), names(web(sidecar("demo", Map.of("app", "a")), s)));
        assertEquals(List.of("from-team-x", "either", "rest"), names(web(sidecar("team-x", Map.of("app", "b")), s)));
        VirtualHost edge = routes(GeneratorGoldenTest.router(), s, "http.8080").getVirtualHosts(0);
        // The router's labels (none) are not app=a, it is not in team-x: only its own and the unconditional routes.
        assertEquals(List.of("at-the-edge", "either", "rest"), names(edge));
    }

    @Test
    void mirrorsGoToEveryShadowWithTheirShare() {
        MeshSnapshot s = snapshot(BASE + """
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: web, namespace: demo}
                spec:
                  hosts: [web.demo.svc.cluster.local]
                  http:
                  - route: [{destination: {host: web}}]
                    mirrors:
                    - destination: {host: shadow}
                    - destination: {host: audit}
                      percentage: {value: 12.5}
                """);
        var mirrors = web(sidecar("demo", Map.of()), s).getRoutes(0).getRoute().getRequestMirrorPoliciesList();
        assertEquals(List.of("outbound|80||shadow.demo.svc.cluster.local", "outbound|80||audit.demo.svc.cluster.local"),
                mirrors.stream().map(m -> m.getCluster()).toList());
        assertEquals(List.of(1_000_000, 125_000), mirrors.stream()
                .map(m -> m.getRuntimeFraction().getDefaultValue().getNumerator()).toList());
    }

    @Test
    void aCorsPolicyIsTheCorsFiltersRouteConfigAndTheFilterIsOnSidecarsAndRoutersOnly() {
        MeshSnapshot s = snapshot(BASE + """
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: web, namespace: demo}
                spec:
                  hosts: [web.demo.svc.cluster.local]
                  gateways: [mesh, istio-system/public]
                  http:
                  - route: [{destination: {host: web}}]
                    corsPolicy:
                      allowOrigins: [{exact: "https://app.example.com"}, {regex: "https://.*\\\\.example\\\\.org"}]
                      allowOrigin: ["http://localhost:3000"]
                      allowMethods: [GET, POST]
                      allowHeaders: [content-type, x-user]
                      exposeHeaders: [x-served-by]
                      maxAge: 10m
                      allowCredentials: true
                """);
        Route r = web(sidecar("demo", Map.of()), s).getRoutes(0);
        CorsPolicy cors = unpack(r.getTypedPerFilterConfigOrThrow("envoy.filters.http.cors"), CorsPolicy.class);
        assertEquals(List.of(StringMatcher.newBuilder().setExact("https://app.example.com").build(),
                StringMatcher.newBuilder().setSafeRegex(RouteMatches.regex("https://.*\\.example\\.org")).build(),
                StringMatcher.newBuilder().setExact("http://localhost:3000").build()), cors.getAllowOriginStringMatchList());
        assertEquals("GET,POST", cors.getAllowMethods());
        assertEquals("content-type,x-user", cors.getAllowHeaders());
        assertEquals("x-served-by", cors.getExposeHeaders());
        assertEquals("600", cors.getMaxAge());
        assertTrue(cors.getAllowCredentials().getValue());
        assertTrue(cors.getForwardNotMatchingPreflights().getValue(), "Istio's default: unmatchedPreflights FORWARD");
        assertEquals(cors, unpack(routes(GeneratorGoldenTest.router(), s, "http.8080").getVirtualHosts(0).getRoutes(0)
                .getTypedPerFilterConfigOrThrow("envoy.filters.http.cors"), CorsPolicy.class));

        assertEquals(List.of("istio.metadata_exchange", "envoy.filters.http.cors", "envoy.filters.http.fault", "envoy.filters.http.router"),
                httpFilters(listener(GeneratorGoldenTest.router(), s, "0.0.0.0_8080")));
        assertEquals(List.of("istio.metadata_exchange", "envoy.filters.http.cors", "envoy.filters.http.fault", "envoy.filters.http.router"),
                httpFilters(listener(sidecar("demo", Map.of()), s, "0.0.0.0_80")));
        // grpc-java NACKs HTTP filters it does not know: proxyless clients get no CORS filter, and no CORS config.
        Listener grpc = listener(SidecarFixtures.grpc(), s, "web.demo.svc.cluster.local:80");
        HttpConnectionManager hcm = unpack(grpc.getApiListener().getApiListener(), HttpConnectionManager.class);
        assertFalse(hcm.getHttpFiltersList().stream().anyMatch(f -> f.getName().contains("cors")), hcm.toString());
        assertFalse(routes(SidecarFixtures.grpc(), s, "web.demo.svc.cluster.local:80").getVirtualHosts(0).getRoutes(0)
                .containsTypedPerFilterConfig("envoy.filters.http.cors"));
    }

    static List<String> httpFilters(Listener l) {
        HttpConnectionManager hcm = unpack(l.getFilterChains(0).getFilters(0).getTypedConfig(), HttpConnectionManager.class);
        return hcm.getHttpFiltersList().stream().map(HttpFilter::getName).toList();
    }
}
