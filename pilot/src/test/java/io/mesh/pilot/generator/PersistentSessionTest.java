package io.mesh.pilot.generator;

import static io.mesh.pilot.generator.SidecarFixtures.cluster;
import static io.mesh.pilot.generator.SidecarFixtures.routes;
import static io.mesh.pilot.generator.SidecarFixtures.unpack;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.envoyproxy.envoy.config.core.v3.TypedExtensionConfig;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.http.stateful_session.v3.StatefulSession;
import io.envoyproxy.envoy.extensions.filters.http.stateful_session.v3.StatefulSessionPerRoute;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.http.stateful_session.cookie.v3.CookieBasedSessionState;
import io.envoyproxy.envoy.extensions.http.stateful_session.header.v3.HeaderBasedSessionState;
import io.envoyproxy.envoy.type.http.v3.Cookie;
import io.mesh.config.ConfigKey;
import io.mesh.config.ConfigValidator;
import io.mesh.config.RawResource;
import io.mesh.config.YamlDocuments;
import io.mesh.pilot.model.Endpoint;
import io.mesh.pilot.model.MeshSettings;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.PersistentSession;
import io.mesh.pilot.model.ProxyInfo;
import io.mesh.pilot.model.ServiceModel;
import io.mesh.pilot.model.ServiceSource;
import io.mesh.pilot.model.SnapshotBuilder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Istio's persistent sessions as the newest istiod emits them (util.MaybeBuildStatefulSessionFilterConfig, its
 * callers in httproute.go, gateway.go, listener_builder.go, and cluster.go's override_host_status): a Kubernetes Service
 * web.demo labelled {@code istio.io/persistent-session(-header)}, seen by a sidecar and by a router through a
 * VirtualService whose host is the service itself (istiod's gatewayService) and one that is not.
 */
class PersistentSessionTest {
    static final String HOST = "web.demo.svc.cluster.local";
    static final String CLUSTER = "outbound|80||" + HOST;
    static final ProxyInfo SIDECAR = SidecarFixtures.sidecar("10.1.0.1", "demo");
    static final ProxyInfo ROUTER = new ProxyInfo("router~10.0.9.9~ingress-1.istio-system~istio-system.svc.cluster.local",
            ProxyInfo.Type.ROUTER, "istio-system", "10.0.9.9", Map.of("istio", "ingressgateway"));
    static final MeshSettings FLAG_ON = MeshSettings.DEFAULT.withPersistentSessionFilter(true);
    static final String ROUTING = SidecarFixtures.PUBLIC_GATEWAY + """
            ---
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: web, namespace: demo}
            spec:
              hosts: [web.demo.svc.cluster.local]
              gateways: [istio-system/public]
              http:
              - route: [{destination: {host: web}}]
            ---
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: shop, namespace: demo}
            spec:
              hosts: [shop.example.com]
              gateways: [istio-system/public]
              http:
              - route: [{destination: {host: web}}]
            """;

    static MeshSnapshot snapshot(Map<String, String> labels, MeshSettings mesh) {
        Map<ConfigKey, Object> config = new TreeMap<>();
        for (RawResource raw : YamlDocuments.parse(ROUTING, "test.yaml").resources()) {
            ConfigValidator.Result r = ConfigValidator.validate(raw);
            assertEquals(List.of(), r.errors(), raw.key().toString());
            config.put(raw.key(), r.model());
        }
        ServiceModel web = new ServiceModel(HOST, "demo", List.of(new ServiceModel.Port("http", 80, "HTTP")), false,
                "Service/demo/web", List.of("10.96.0.10"), List.of(), false, List.of(), false,
                PersistentSession.fromLabels(labels));
        List<Endpoint> pods = List.of(
                new Endpoint("10.1.0.1", Map.of(80, 8080), Map.of("app", "web"), "", 1, Endpoint.Health.HEALTHY, "web"),
                new Endpoint("10.1.0.2", Map.of(80, 8080), Map.of("app", "web"), "", 1, Endpoint.Health.DRAINING, "web"));
        return SnapshotBuilder.build(1, config, new ServiceSource.View(List.of(web), Map.of(HOST, pods)), Map.of(), mesh);
    }

    static StatefulSession cookie(String name, String path) {
        return StatefulSession.newBuilder().setSessionState(TypedExtensionConfig.newBuilder()
                .setName("envoy.http.stateful_session.cookie").setTypedConfig(Any.pack(CookieBasedSessionState.newBuilder()
                        .setCookie(Cookie.newBuilder().setName(name).setPath(path)).build()))).build();
    }

    static StatefulSession header(String name) {
        return StatefulSession.newBuilder().setSessionState(TypedExtensionConfig.newBuilder()
                .setName("envoy.http.stateful_session.header").setTypedConfig(Any.pack(HeaderBasedSessionState
                        .newBuilder().setName(name).build()))).build();
    }

    /** The session a virtual host of the route table carries, or null. */
    static StatefulSession session(RouteConfiguration rc, String domain) {
        for (VirtualHost vh : rc.getVirtualHostsList()) {
            if (vh.getDomainsList().contains(domain)) {
                Any any = vh.getTypedPerFilterConfigMap().get("envoy.filters.http.stateful_session");
                return any == null ? null : unpack(any, StatefulSessionPerRoute.class).getStatefulSession();
            }
        }
        throw new AssertionError("no virtual host for " + domain + " in " + rc);
    }

    /** Each HTTP connection manager's filter names, by listener name (and chain index past the first). */
    static Map<String, List<String>> httpFilters(ProxyInfo proxy, MeshSnapshot s) {
        Map<String, List<String>> out = new TreeMap<>();
        for (var m : XdsGenerators.generate(Resources.V3.LISTENER_TYPE_URL, proxy, s, Set.of())) {
            Listener l = (Listener) m;
            int i = 0;
            for (FilterChain fc : l.getFilterChainsList()) {
                for (Filter f : fc.getFiltersList()) {
                    if (f.getName().equals(Hcm.NAME)) {
                        HttpConnectionManager hcm = unpack(f.getTypedConfig(), HttpConnectionManager.class);
                        List<String> names = new ArrayList<>();
                        for (HttpFilter hf : hcm.getHttpFiltersList()) {
                            names.add(hf.getName());
                            if (hf.getName().equals(StatefulSessions.FILTER)) {
                                // istiod's EmptySessionFilter: an empty config, which routes override
                                assertEquals(StatefulSession.getDefaultInstance(),
                                        unpack(hf.getTypedConfig(), StatefulSession.class));
                            }
                        }
                        out.put(l.getName() + (i == 0 ? "" : "#" + i), names);
                        i++;
                    }
                }
            }
        }
        return out;
    }

    @ParameterizedTest(name = "{0}={1}")
    @CsvSource({
        "istio.io/persistent-session, sticky, cookie, sticky, /",
        "istio.io/persistent-session, sticky:/api, cookie, sticky, /api",
        "istio.io/persistent-session, sticky:/a:b, cookie, sticky, /a:b",
        "istio.io/persistent-session-header, x-session, header, x-session, ",
    })
    void labelledServiceGetsItsSessionOnSidecarAndRouterVirtualHosts(String label, String value, String kind,
            String name, String path) {
        MeshSnapshot s = snapshot(Map.of(label, value), FLAG_ON);
        StatefulSession expected = kind.equals("cookie") ? cookie(name, path) : header(name);
        // sidecar outbound: the service's virtual host (httproute.go BuildSidecarOutboundVirtualHosts)
        assertEquals(expected, session(routes(SIDECAR, s, "80"), HOST));
        // router: the virtual host whose host is the service (gateway.go gatewayService), not another host routing to it
        RouteConfiguration rc = routes(ROUTER, s, "http.8080");
        assertEquals(expected, session(rc, HOST));
        assertEquals(null, session(rc, "shop.example.com"));
        // the default cluster keeps DRAINING endpoints for sessions (cluster.go), in istiod's order
        assertEquals(List.of(HealthStatus.HEALTHY, HealthStatus.DRAINING, HealthStatus.UNKNOWN, HealthStatus.DEGRADED),
                cluster(SIDECAR, s, CLUSTER).getCommonLbConfig().getOverrideHostStatus().getStatusesList());
        assertEquals(List.of(HealthStatus.HEALTHY, HealthStatus.DRAINING, HealthStatus.UNKNOWN, HealthStatus.DEGRADED),
                cluster(ROUTER, s, CLUSTER).getCommonLbConfig().getOverrideHostStatus().getStatusesList());
    }

    @Test
    void aServiceEntrysLabelsCountAsIstiodsServiceLabelsInLocalModeToo() {
        MeshSnapshot s = SidecarFixtures.snapshot("""
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata:
                  name: api
                  namespace: demo
                  labels: {istio.io/persistent-session-header: x-api-session}
                spec:
                  hosts: [api.demo.svc.cluster.local]
                  location: MESH_INTERNAL
                  ports: [{number: 80, name: http, protocol: HTTP}]
                  resolution: STATIC
                  endpoints: [{address: 10.2.0.1}]
                """, FLAG_ON);
        assertEquals(header("x-api-session"), session(routes(SIDECAR, s, "80"), "api.demo.svc.cluster.local"));
        assertEquals(4, cluster(SIDECAR, s, "outbound|80||api.demo.svc.cluster.local").getCommonLbConfig()
                .getOverrideHostStatus().getStatusesCount());
    }

    @Test
    void theCookieLabelWinsOverTheHeaderLabel() {
        MeshSnapshot s = snapshot(Map.of("istio.io/persistent-session", "sticky",
                "istio.io/persistent-session-header", "x-session"), FLAG_ON);
        assertEquals(cookie("sticky", "/"), session(routes(SIDECAR, s, "80"), HOST));
    }

    @Test
    void aMalformedValueIsSentAsIstiodSendsIt() {
        // istiod cuts at the first ':' and checks nothing: an empty cookie name goes out, for the proxy to refuse
        MeshSnapshot s = snapshot(Map.of("istio.io/persistent-session", ":/api"), FLAG_ON);
        assertEquals(cookie("", "/api"), session(routes(SIDECAR, s, "80"), HOST));
    }

    @Test
    void outboundAndRouterConnectionManagersCarryTheEmptyFilterBeforeTheRouterAndInboundOnesNone() {
        MeshSnapshot s = snapshot(Map.of(), FLAG_ON);
        Map<String, List<String>> sidecar = httpFilters(SIDECAR, s);
        List<String> outbound = sidecar.get("0.0.0.0_80");
        assertEquals(List.of(StatefulSessions.FILTER, "envoy.filters.http.router"),
                outbound.subList(outbound.size() - 2, outbound.size()), outbound.toString());
        boolean inbound = false;
        for (var e : sidecar.entrySet()) {
            if (e.getKey().startsWith("virtualInbound")) {
                inbound = true;
                assertFalse(e.getValue().contains(StatefulSessions.FILTER), e.toString());
            }
        }
        assertTrue(inbound, "the sidecar of web's pod has an inbound HTTP chain: " + sidecar.keySet());
        Map<String, List<String>> gateway = httpFilters(ROUTER, s);
        assertFalse(gateway.isEmpty());
        gateway.values().forEach(names -> assertEquals(List.of(StatefulSessions.FILTER, "envoy.filters.http.router"),
                names.subList(names.size() - 2, names.size()), names.toString()));
        // an unlabelled service's virtual hosts and cluster carry nothing
        assertEquals(null, session(routes(SIDECAR, s, "80"), HOST));
        assertFalse(cluster(SIDECAR, s, CLUSTER).getCommonLbConfig().hasOverrideHostStatus());
    }

    @Test
    void withoutTheFlagOnlyTheClusterChangesAsInIstiod() {
        MeshSnapshot s = snapshot(Map.of("istio.io/persistent-session", "sticky"), MeshSettings.DEFAULT);
        assertEquals(null, session(routes(SIDECAR, s, "80"), HOST));
        assertEquals(null, session(routes(ROUTER, s, "http.8080"), HOST));
        httpFilters(SIDECAR, s).values().forEach(n -> assertFalse(n.contains(StatefulSessions.FILTER), n.toString()));
        httpFilters(ROUTER, s).values().forEach(n -> assertFalse(n.contains(StatefulSessions.FILTER), n.toString()));
        assertEquals(4, cluster(SIDECAR, s, CLUSTER).getCommonLbConfig().getOverrideHostStatus().getStatusesCount());
    }
}
