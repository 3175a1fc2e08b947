package io.mesh.gateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.listener.v3.ListenerFilter;
import io.envoyproxy.envoy.config.rbac.v3.Permission;
import io.envoyproxy.envoy.config.rbac.v3.Policy;
import io.envoyproxy.envoy.config.rbac.v3.Principal;
import io.envoyproxy.envoy.config.rbac.v3.RBAC;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.listener.original_dst.v3.OriginalDst;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.type.matcher.v3.PathMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.mesh.testing.FreePorts;
import io.mesh.testing.netns.PodNamespace;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * AuthorizationPolicy CUSTOM and DENY on a sidecar's inbound side, in istiod's filter order: the shadow RBAC filter
 * marking /app, ext_authz, then a DENY RBAC filter on /app/blocked. The callers are in a network namespace whose
 * connections iptables redirects to the inbound capture port; the authorization server (Vert.x, in the test) allows a
 * request with {@code x-allow: yes}. CUSTOM is decided before DENY: a request ext_authz denies gets its answer, one it
 * allows still meets the DENY policy. curl in the namespace is the client.
 */
class SidecarInboundExtAuthzTest {

    static final int APP = FreePorts.next();
    static PodNamespace pod;
    static Vertx vertx;
    static Backend app;
    static HttpServer authz;
    static ControlPlane pilot;
    static TestGateway gw;
    static String appIp;

    @BeforeAll
    static void start() throws Exception {
        PodNamespace.requireRoot();
        int capture = FreePorts.next();
        pod = PodNamespace.create(capture);
        appIp = pod.destinations.get(0);
        vertx = Vertx.vertx();
        app = new Backend(vertx, "app", APP);
        int authzPort = FreePorts.next();
        authz = vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(authzPort)).requestHandler(req -> {
            if ("yes".equals(req.getHeader("x-allow"))) {
                req.response().putHeader("x-authz-user", "alice").end();
            } else {
                req.response().setStatusCode(401).putHeader("x-authz-reason", "no x-allow").end("denied by authz");
            }
        });
        authz.listen().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        pilot = new ControlPlane();
        String cluster = "inbound|" + APP + "||";
        String authzCluster = "outbound|8000||authz.istio-system.svc.cluster.local";
        pilot.set(List.of(Xds.edsCluster(cluster), Xds.edsCluster(authzCluster)),
                List.of(Xds.endpoints(cluster, APP), Xds.endpoints(authzCluster, authzPort)),
                List.of(virtualInbound(cluster, authzCluster)), List.of(), List.of());
        Map<String, String> settings = new HashMap<>();
        settings.put("mesh.gateway.mode", "sidecar");
        settings.put("mesh.gateway.listeners.port-map.\"15006\"", Integer.toString(capture));
        settings.put("mesh.gateway.listeners.event-loops", "1");
        gw = TestGateway.ready(pilot, settings);
        assertTrue(pilot.nacks().isEmpty(), pilot.nacks().toString());
    }

    @AfterAll
    static void stop() throws Exception {
        SidecarHeadlessServiceTest.stopAll(gw, pilot, app, SidecarHeadlessServiceTest.closing(vertx), pod);
    }

    static Listener virtualInbound(String cluster, String authzCluster) {
        RBAC deny = RBAC.newBuilder().setAction(RBAC.Action.DENY)
                .putPolicies("ns[demo]-policy[blocked]-rule[0]", Policy.newBuilder()
                        .addPermissions(Permission.newBuilder().setUrlPath(PathMatcher.newBuilder()
                                .setPath(StringMatcher.newBuilder().setPrefix("/app/blocked"))))
                        .addPrincipals(Principal.newBuilder().setAny(true)).build())
                .build();
        HttpFilter shadow = shadowFilter();
        HttpConnectionManager hcm = HttpConnectionManager.newBuilder().setStatPrefix("inbound_" + APP)
                .setRouteConfig(Xds.routes(cluster, Xds.vhost("inbound|http|" + APP, List.of("*"), Xds.prefixTo("/", cluster))))
                .addHttpFilters(shadow)
                .addHttpFilters(HttpFilter.newBuilder().setName("envoy.filters.http.ext_authz").setTypedConfig(Any.pack(
                        RouterExtAuthzTest.extAuthz(authzCluster, false))))
                .addHttpFilters(HttpFilter.newBuilder().setName("envoy.filters.http.rbac").setTypedConfig(Any.pack(
                        io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.newBuilder().setRules(deny).build())))
                .addHttpFilters(HttpFilter.newBuilder().setName("envoy.filters.http.router").setTypedConfig(Any.pack(
                        Router.getDefaultInstance())))
                .build();
        return Listener.newBuilder().setName("virtualInbound").setAddress(Xds.address("0.0.0.0", 15006))
                .addListenerFilters(ListenerFilter.newBuilder().setName("envoy.filters.listener.original_dst")
                        .setTypedConfig(Any.pack(OriginalDst.getDefaultInstance())))
                .addFilterChains(FilterChain.newBuilder().setName("inbound|" + APP + "||plaintext")
                        .setFilterChainMatch(FilterChainMatch.newBuilder().setDestinationPort(UInt32Value.of(APP))
                                .setTransportProtocol("raw_buffer"))
                        .addFilters(Filter.newBuilder().setName("envoy.filters.network.http_connection_manager")
                                .setTypedConfig(Any.pack(hcm))))
                .build();
    }

    /** istiod's shadow RBAC filter for the CUSTOM policy on /app. */
    static HttpFilter shadowFilter() {
        RBAC rules = RBAC.newBuilder().setAction(RBAC.Action.DENY).putPolicies(RouterExtAuthzTest.POLICY, Policy.newBuilder()
                .addPermissions(Permission.newBuilder().setUrlPath(PathMatcher.newBuilder()
                        .setPath(StringMatcher.newBuilder().setPrefix("/app"))))
                .addPrincipals(Principal.newBuilder().setAny(true)).build()).build();
        return HttpFilter.newBuilder().setName("envoy.filters.http.rbac").setTypedConfig(Any.pack(
                io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.newBuilder().setShadowRules(rules)
                        .setShadowRulesStatPrefix("istio_ext_authz_").build())).build();
    }

    /** curl from the caller's namespace: headers and body ({@code -i}), then the status on the last line. */
    static String curl(String path, String... headers) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("curl", "-s", "-i", "-m", "10", "-w", "\n%{http_code}"));
        for (String h : headers) {
            cmd.add("-H");
            cmd.add(h);
        }
        cmd.add("http://" + appIp + ":" + APP + path);
        return pod.exec(cmd);
    }

    static String status(String curlOut) {
        return curlOut.substring(curlOut.lastIndexOf('\n') + 1).strip();
    }

    @Test
    void customIsDecidedBeforeDeny() throws Exception {
        String allowed = curl("/app/headers", "x-allow: yes");
        assertEquals("200", status(allowed), allowed);
        String denied = curl("/app/x");
        assertEquals("401", status(denied), denied);
        assertTrue(denied.contains("denied by authz"), denied);
        assertTrue(denied.toLowerCase().contains("x-authz-reason: no x-allow"), denied);
        String blockedByAuthz = curl("/app/blocked");
        assertEquals("401", status(blockedByAuthz), "ext_authz answers first: " + blockedByAuthz);
        String blockedByDeny = curl("/app/blocked", "x-allow: yes");
        assertEquals("403", status(blockedByDeny), blockedByDeny);
        assertTrue(blockedByDeny.contains("RBAC: access denied"), blockedByDeny);
        String unchecked = curl("/public");
        assertEquals("200", status(unchecked), "not marked by the shadow rule: not checked, " + unchecked);
    }
}
