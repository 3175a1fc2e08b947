package io.mesh.gateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.rbac.v3.Permission;
import io.envoyproxy.envoy.config.rbac.v3.Policy;
import io.envoyproxy.envoy.config.rbac.v3.Principal;
import io.envoyproxy.envoy.config.rbac.v3.RBAC;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.type.matcher.v3.PathMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.mesh.testing.FreePorts;
import java.net.Socket;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * An AuthorizationPolicy that selects the ingress gateway, as pilot serves it: HTTP RBAC filters ahead of the router in
 * the listener's connection manager. The router enforces them on both paths: what they allow is served (on the fast
 * path), what they deny gets Envoy's 403 {@code RBAC: access denied} and never reaches the upstream.
 */
class RouterRbacTest {

    @RegisterExtension
    static final RouterFixture MESH = new RouterFixture();
    static Backend web;
    static ControlPlane pilot;
    static TestGateway gw;
    static int port;

    @BeforeAll
    static void start() throws Exception {
        web = MESH.backend("web");
        pilot = MESH.pilot();
        port = FreePorts.next();
        RBAC denyAdmin = RBAC.newBuilder().setAction(RBAC.Action.DENY).putPolicies("ns[istio-system]-policy[edge]-rule[0]",
                Policy.newBuilder().addPermissions(Permission.newBuilder().setUrlPath(PathMatcher.newBuilder()
                                .setPath(StringMatcher.newBuilder().setPrefix("/admin"))))
                        .addPrincipals(Principal.newBuilder().setAny(true)).build()).build();
        HttpConnectionManager hcm = Xds.hcm("http.80").toBuilder().clearHttpFilters()
                .addHttpFilters(HttpFilter.newBuilder().setName("envoy.filters.http.rbac.deny").setTypedConfig(Any.pack(
                        io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.newBuilder().setRules(denyAdmin).build())))
                .addAllHttpFilters(Xds.hcm("http.80").getHttpFiltersList()).build();
        Listener listener = Xds.httpListener("http", port, "http.80").toBuilder().clearFilterChains()
                .addFilterChains(FilterChain.newBuilder().addFilters(Filter.newBuilder()
                        .setName("envoy.filters.network.http_connection_manager").setTypedConfig(Any.pack(hcm))))
                .build();
        pilot.set(List.of(Xds.edsCluster("web")), List.of(Xds.endpoints("web", web.port)), List.of(listener),
                List.of(Xds.routes("http.80", Xds.vhost("all", List.of("*"), Xds.prefixTo("/", "web")))), List.of());
        gw = MESH.startGateway(Map.of());
    }

    @Test
    void aDeniedPathGets403AndAnAllowedOneIsServedOnTheFastPath() throws Exception {
        long fast = gw.gateway.dataPlane().fastPathRequests();
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(20_000);
            FastPathTest.send(s, "GET /admin/users HTTP/1.1\r\nHost: a\r\n\r\n");
            FastPathTest.Resp denied = FastPathTest.read(s);
            assertEquals(403, denied.status());
            assertEquals("RBAC: access denied", denied.body());
            FastPathTest.send(s, "GET /public HTTP/1.1\r\nHost: a\r\n\r\n");
            FastPathTest.Resp allowed = FastPathTest.read(s);
            assertEquals(200, allowed.status());
            assertEquals("web", allowed.body());
        }
        assertEquals(fast + 1, gw.gateway.dataPlane().fastPathRequests(), "the allowed request, on the fast path");
        assertEquals("/public", web.lastPath, "the denied request never reached the upstream");
    }

    @Test
    void theVertxPathEnforcesTheSamePolicy() throws Exception {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(20_000);
            // HTTP/1.0 is not the fast path's.
            long fast = gw.gateway.dataPlane().fastPathRequests();
            FastPathTest.send(s, "GET /admin/x HTTP/1.0\r\nHost: a\r\n\r\n");
            FastPathTest.Resp denied = FastPathTest.read(s);
            assertEquals(403, denied.status());
            assertEquals("RBAC: access denied", denied.body());
            assertEquals(fast, gw.gateway.dataPlane().fastPathRequests());
        }
    }
}
