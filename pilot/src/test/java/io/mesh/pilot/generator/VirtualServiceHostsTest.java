package io.mesh.pilot.generator;

import static io.mesh.pilot.generator.SidecarFixtures.listener;
import static io.mesh.pilot.generator.SidecarFixtures.routes;
import static io.mesh.pilot.generator.SidecarFixtures.sidecar;
import static io.mesh.pilot.generator.SidecarFixtures.snapshot;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ProxyInfo;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * A mesh VirtualService whose hosts are no service the sidecar sees (an external API without a ServiceEntry) gets a
 * virtual host of its own on the sidecar's route for port 80, as istiod builds it: named {@code HOST:80}, answering
 * to the host (and {@code HOST:80}), with the VirtualService's routes. Other ports get it only where the same
 * VirtualService routes a service with that HTTP port. The VirtualService is seen as istiod sees it: exported to the
 * proxy's namespace, and imported by the proxy's Sidecar resource's egress hosts.
 */
class VirtualServiceHostsTest {
    static final ProxyInfo CLIENT = sidecar("10.0.0.9", "demo");

    /** web: HTTP on 80; backend: HTTP on 8080 only. */
    static final String SERVICES = SidecarFixtures.services("web", "demo", "[web.demo.svc.cluster.local]",
            SidecarFixtures.HTTP_80, "{address: 10.0.0.2}")
            + SidecarFixtures.services("backend", "demo", "[backend.demo.svc.cluster.local]",
                    "[{number: 8080, name: http, protocol: HTTP}]", "{address: 10.0.0.3}");

    /** A VirtualService for {@code hosts} (a flow list) sending /v1 to backend:8080; {@code more}: extra spec lines. */
    static String vs(String name, String namespace, String hosts, String more) {
        return "---\n" + """
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: %s, namespace: %s}
                spec:
                  hosts: %s
                  %s
                  http:
                  - match: [{uri: {prefix: /v1}}]
                    route: [{destination: {host: backend.demo.svc.cluster.local, port: {number: 8080}}}]
                """.formatted(name, namespace, hosts, more);
    }

    static Optional<VirtualHost> virtualHost(RouteConfiguration rc, String name) {
        return rc.getVirtualHostsList().stream().filter(vh -> vh.getName().equals(name)).findFirst();
    }

    static List<String> names(RouteConfiguration rc) {
        return rc.getVirtualHostsList().stream().map(VirtualHost::getName).toList();
    }

    /** The names of the routes of a virtual host on route 80: the "namespace/name" of the VirtualService, or "default". */
    static List<String> routedBy(ProxyInfo proxy, MeshSnapshot s, String vhName) {
        return virtualHost(routes(proxy, s, "80"), vhName).orElseThrow(() -> new AssertionError("no " + vhName))
                .getRoutesList().stream().map(Route::getName).toList();
    }

    @Test
    void aHostNoServiceHasGetsAVirtualHostOnRoute80WithTheVirtualServicesRoutes() {
        RouteConfiguration rc = routes(CLIENT, snapshot(SERVICES + vs("api", "demo", "[api.external.example]", "")), "80");
        assertEquals(List.of("web.demo.svc.cluster.local:80", "api.external.example:80", "allow_any"), names(rc));
        VirtualHost vh = virtualHost(rc, "api.external.example:80").orElseThrow();
        assertEquals(List.of("api.external.example", "api.external.example:80"), vh.getDomainsList());
        assertEquals(1, vh.getRoutesCount());
        Route r = vh.getRoutes(0);
        assertEquals("demo/api", r.getName());
        assertEquals("/v1", r.getMatch().getPrefix());
        assertEquals("outbound|8080||backend.demo.svc.cluster.local", r.getRoute().getCluster());
        // web keeps its own virtual host and default route.
        assertEquals(List.of("default"), routedBy(CLIENT, snapshot(SERVICES + vs("api", "demo", "[api.external.example]", "")),
                "web.demo.svc.cluster.local:80"));
    }

    @Test
    void noOtherPortGetsTheHost() {
        MeshSnapshot s = snapshot(SERVICES + vs("api", "demo", "[api.external.example]", ""));
        RouteConfiguration rc = routes(CLIENT, s, "8080");
        assertEquals(List.of("backend.demo.svc.cluster.local:8080", "allow_any"), names(rc));
        assertTrue(rc.getVirtualHostsList().stream().noneMatch(vh -> vh.getDomainsList().contains("api.external.example")));
    }

    @Test
    void aVirtualServiceForOneServiceOnPort80KeepsTodaysVirtualHosts() {
        MeshSnapshot s = snapshot(SERVICES + vs("web", "demo", "[web]", ""));
        assertEquals(List.of("web.demo.svc.cluster.local:80", "allow_any"), names(routes(CLIENT, s, "80")));
        assertEquals(List.of("demo/web"), routedBy(CLIENT, s, "web.demo.svc.cluster.local:80"));
        assertEquals(List.of("backend.demo.svc.cluster.local:8080", "allow_any"), names(routes(CLIENT, s, "8080")));
    }

    @Test
    void aServiceWithoutPort80IsAHostOutsideTheRegistryOnRoute80AndItsOtherHostsFollowItToItsPort() {
        // istiod looks services up among those with the route's port: on 80, backend (8080 only) is a plain host name
        // (its FQDN, no short names); on 8080 it is the service, and the VirtualService's other host comes along.
        MeshSnapshot s = snapshot(SERVICES + vs("backend", "demo", "[backend, api.external.example]", ""));
        RouteConfiguration on80 = routes(CLIENT, s, "80");
        assertEquals(List.of("web.demo.svc.cluster.local:80", "backend.demo.svc.cluster.local:80", "api.external.example:80",
                "allow_any"), names(on80));
        assertEquals(List.of("backend.demo.svc.cluster.local", "backend.demo.svc.cluster.local:80"),
                virtualHost(on80, "backend.demo.svc.cluster.local:80").orElseThrow().getDomainsList());
        RouteConfiguration on8080 = routes(CLIENT, s, "8080");
        assertEquals(List.of("backend.demo.svc.cluster.local:8080", "api.external.example:8080", "allow_any"), names(on8080));
        VirtualHost api = virtualHost(on8080, "api.external.example:8080").orElseThrow();
        assertEquals(List.of("api.external.example", "api.external.example:8080"), api.getDomainsList());
        assertEquals(List.of("demo/backend"), api.getRoutesList().stream().map(Route::getName).toList());
    }

    @Test
    void aWildcardHostThatTakesNoServiceGetsItsOwnVirtualHost() {
        RouteConfiguration rc = routes(CLIENT, snapshot(SERVICES + vs("apis", "demo", "[\"*.external.example\"]", "")), "80");
        VirtualHost vh = virtualHost(rc, "*.external.example:80").orElseThrow(() -> new AssertionError(names(rc)));
        assertEquals(List.of("*.external.example", "*.external.example:80"), vh.getDomainsList());
    }

    @Test
    void routesForAnotherPortOnlyGiveNoVirtualHost() {
        String onlyFor9000 = vs("api", "demo", "[api.external.example]", "")
                .replace("[{uri: {prefix: /v1}}]", "[{uri: {prefix: /v1}, port: 9000}]");
        assertEquals(List.of("web.demo.svc.cluster.local:80", "allow_any"), names(routes(CLIENT, snapshot(SERVICES + onlyFor9000), "80")));
    }

    @Test
    void theVirtualServiceIsSeenWhereItIsExportedAndThePrivateOneWinsTheHost() {
        MeshSnapshot s = snapshot(SERVICES + vs("public-api", "ops", "[api.external.example]", "")
                + vs("team-api", "team-a", "[api.external.example]", "exportTo: [\".\"]")
                + vs("hidden", "ops", "[hidden.external.example]", "exportTo: [\".\"]"));
        assertEquals(List.of("team-a/team-api"), routedBy(sidecar("10.1.0.1", "team-a"), s, "api.external.example:80"));
        assertEquals(List.of("ops/public-api"), routedBy(CLIENT, s, "api.external.example:80"));
        assertEquals(1, routes(CLIENT, s, "80").getVirtualHostsList().stream()
                .filter(vh -> vh.getDomainsList().contains("api.external.example")).count(), "one virtual host per host");
        assertTrue(virtualHost(routes(CLIENT, s, "80"), "hidden.external.example:80").isEmpty());
        assertTrue(virtualHost(routes(sidecar("10.1.0.2", "ops"), s, "80"), "hidden.external.example:80").isPresent());
    }

    @Test
    void aSidecarResourceImportsTheVirtualServicesItsEgressHostsTake() {
        String vses = vs("mine", "demo", "[mine.external.example]", "") + vs("theirs", "ops", "[theirs.external.example]", "");
        String sidecarResource = """
                ---
                apiVersion: networking.istio.io/v1
                kind: Sidecar
                metadata: {name: default, namespace: demo}
                spec:
                  egress:
                  - hosts: [%s]
                """;
        // Its own namespace's only (the services it sees are all in demo, so web keeps its route 80).
        MeshSnapshot own = snapshot(SERVICES + vses + sidecarResource.formatted("\"./*\""));
        assertEquals(List.of("web.demo.svc.cluster.local:80", "mine.external.example:80", "allow_any"),
                names(routes(CLIENT, own, "80")));
        // By host, in any namespace; a wildcard entry takes the VirtualService's host too.
        MeshSnapshot byHost = snapshot(SERVICES + vses
                + sidecarResource.formatted("\"./*\", \"*/theirs.external.example\""));
        assertEquals(List.of("web.demo.svc.cluster.local:80", "mine.external.example:80", "theirs.external.example:80",
                "allow_any"), names(routes(CLIENT, byHost, "80")));
        MeshSnapshot byWildcard = snapshot(SERVICES + vses + sidecarResource.formatted("\"./web.demo.svc.cluster.local\", \"ops/*.external.example\""));
        assertEquals(List.of("web.demo.svc.cluster.local:80", "theirs.external.example:80", "allow_any"),
                names(routes(CLIENT, byWildcard, "80")));
    }

    @Test
    void theHostIsReachedOnlyThroughPort80sHttpListenerWhichAServiceOnPort80Makes() {
        // As in istiod, a VirtualService makes no listener: without a service on HTTP port 80 there is no
        // 0.0.0.0_80, and connections to port 80 go through virtualOutbound's passthrough.
        MeshSnapshot without = snapshot(SidecarFixtures.services("backend", "demo", "[backend.demo.svc.cluster.local]",
                "[{number: 8080, name: http, protocol: HTTP}]", "{address: 10.0.0.3}")
                + vs("api", "demo", "[api.external.example]", ""));
        assertTrue(XdsGenerators.generate(Resources.V3.LISTENER_TYPE_URL, CLIENT, without, java.util.Set.of())
                .stream().map(l -> ((Listener) l).getName()).noneMatch(n -> n.endsWith("_80")));
        Listener l = listener(CLIENT, snapshot(SERVICES + vs("api", "demo", "[api.external.example]", "")), "0.0.0.0_80");
        HttpConnectionManager hcm = SidecarFixtures.unpack(l.getFilterChains(0).getFilters(0).getTypedConfig(),
                HttpConnectionManager.class);
        assertEquals("80", hcm.getRds().getRouteConfigName());
    }

    @Test
    void aDomainTheHostTakesIsLeftOutOfTheServiceThatWouldAlsoAnswerToIt() {
        // "web.demo" is a short name of web for clients in any namespace; a VirtualService naming that host (it has a
        // dot, so it stays as written) takes it, as istiod builds VirtualService hosts first and dedupes domains.
        MeshSnapshot s = snapshot(SERVICES + vs("short", "ops", "[web.demo]", ""));
        RouteConfiguration rc = routes(CLIENT, s, "80");
        assertEquals(List.of("web.demo", "web.demo:80"), virtualHost(rc, "web.demo:80").orElseThrow().getDomainsList());
        List<String> web = virtualHost(rc, "web.demo.svc.cluster.local:80").orElseThrow().getDomainsList();
        assertTrue(!web.contains("web.demo") && !web.contains("web.demo:80") && web.contains("web"), web.toString());
    }
}
