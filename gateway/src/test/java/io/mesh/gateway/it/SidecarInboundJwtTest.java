package io.mesh.gateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import com.google.protobuf.Empty;
import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.listener.v3.ListenerFilter;
import io.envoyproxy.envoy.config.rbac.v3.Permission;
import io.envoyproxy.envoy.config.rbac.v3.Policy;
import io.envoyproxy.envoy.config.rbac.v3.Principal;
import io.envoyproxy.envoy.config.rbac.v3.RBAC;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtClaimToHeader;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtProvider;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtRequirement;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtRequirementOrList;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.RequirementRule;
import io.envoyproxy.envoy.extensions.filters.listener.original_dst.v3.OriginalDst;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.type.matcher.v3.PathMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.envoyproxy.envoy.type.matcher.v3.ValueMatcher;
import io.mesh.gateway.jwt.TestTokens;
import io.mesh.testing.FreePorts;
import io.mesh.testing.netns.PodNamespace;
import io.vertx.core.Vertx;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * RequestAuthentication on a sidecar's inbound side: the app's callers are in a network namespace whose connections
 * iptables redirects to the sidecar's inbound capture port (15006's, here a free port), and the virtualInbound chain of
 * the app's port carries jwt_authn + istio_authn + an ALLOW policy on request principals, as pilot sends it. The app
 * (which echoes its request headers) listens on 127.0.0.1 at that port. curl in the namespace is the client.
 */
class SidecarInboundJwtTest {

    static final String ISS = "https://issuer.example";
    static final int APP = FreePorts.next();
    static PodNamespace pod;
    static Vertx vertx;
    static Backend app;
    static ControlPlane pilot;
    static TestGateway gw;
    static TestTokens.Key key;
    static String appIp;

    @BeforeAll
    static void start() throws Exception {
        PodNamespace.requireRoot();
        int capture = FreePorts.next();
        pod = PodNamespace.create(capture);
        appIp = pod.destinations.get(0);
        vertx = Vertx.vertx();
        app = new Backend(vertx, "app", APP);
        key = TestTokens.rsa("k1");
        pilot = new ControlPlane();
        String cluster = "inbound|" + APP + "||";
        pilot.set(List.of(Xds.edsCluster(cluster)), List.of(Xds.endpoints(cluster, APP)), List.of(virtualInbound(cluster)),
                List.of(), List.of());
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

    static Listener virtualInbound(String cluster) {
        JwtAuthentication jwt = JwtAuthentication.newBuilder().putProviders("origins-0", JwtProvider.newBuilder()
                        .setIssuer(ISS).setLocalJwks(DataSource.newBuilder().setInlineString(TestTokens.jwks(key)))
                        .addClaimToHeaders(JwtClaimToHeader.newBuilder().setHeaderName("x-jwt-sub").setClaimName("sub")).build())
                .addRules(RequirementRule.newBuilder().setMatch(RouteMatch.newBuilder().setPrefix("/"))
                        .setRequires(JwtRequirement.newBuilder().setRequiresAny(JwtRequirementOrList.newBuilder()
                                .addRequirements(JwtRequirement.newBuilder().setProviderName("origins-0"))
                                .addRequirements(JwtRequirement.newBuilder().setAllowMissing(Empty.getDefaultInstance())))))
                .setBypassCorsPreflight(true).build();
        RBAC allow = RBAC.newBuilder().setAction(RBAC.Action.ALLOW)
                .putPolicies("ns[demo]-policy[public]-rule[0]", Policy.newBuilder()
                        .addPermissions(Permission.newBuilder().setUrlPath(PathMatcher.newBuilder()
                                .setPath(StringMatcher.newBuilder().setPrefix("/public"))))
                        .addPrincipals(Principal.newBuilder().setAny(true)).build())
                .putPolicies("ns[demo]-policy[users]-rule[0]", Policy.newBuilder()
                        .addPermissions(Permission.newBuilder().setAny(true))
                        .addPrincipals(Principal.newBuilder().setMetadata(io.mesh.gateway.xds.RbacMetadataTest.meta("request.auth.principal")
                                .setValue(ValueMatcher.newBuilder().setStringMatch(StringMatcher.newBuilder().setPrefix(ISS + "/")))))
                        .build())
                .build();
        HttpConnectionManager hcm = HttpConnectionManager.newBuilder().setStatPrefix("inbound_" + APP)
                .setRouteConfig(Xds.routes(cluster, Xds.vhost("inbound|http|" + APP, List.of("*"), Xds.prefixTo("/", cluster))))
                .addHttpFilters(HttpFilter.newBuilder().setName("envoy.filters.http.jwt_authn").setTypedConfig(Any.pack(jwt)))
                .addHttpFilters(HttpFilter.newBuilder().setName("istio_authn").setTypedConfig(Any.pack(
                        com.github.xds.type.v3.TypedStruct.newBuilder().setTypeUrl("type.googleapis.com/io.istio.network.authn.Config")
                                .build())))
                .addHttpFilters(HttpFilter.newBuilder().setName("envoy.filters.http.rbac").setTypedConfig(Any.pack(
                        io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.newBuilder().setRules(allow).build())))
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

    /** curl from the caller's namespace: the body, then the status on the last line. */
    static String curl(String path, String... headers) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("curl", "-s", "-m", "10", "-w", "\n%{http_code}"));
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
    void withoutATokenOnlyWhatThePolicyOpensIsServed() throws Exception {
        assertEquals("200", status(curl("/public")));
        String denied = curl("/private");
        assertEquals("403", status(denied));
        assertTrue(denied.startsWith("RBAC: access denied"), denied);
    }

    @Test
    void aValidTokensPrincipalIsAllowedAndItsClaimReachesTheApp() throws Exception {
        String t = TestTokens.sign(key, "RS256", TestTokens.claims(ISS, "alice"));
        String out = curl("/headers", "Authorization: Bearer " + t, "x-jwt-sub: mallory");
        assertEquals("200", status(out), out);
        assertTrue(out.lines().anyMatch("x-jwt-sub: alice"::equals), out);
        assertFalse(out.lines().anyMatch("x-jwt-sub: mallory"::equals), out);
        assertFalse(out.lines().anyMatch(l -> l.startsWith("authorization:")), "forward is false (istiod's default): " + out);
    }

    @Test
    void anExpiredTokenGets401() throws Exception {
        String t = TestTokens.sign(key, "RS256", TestTokens.claims(ISS, "alice").put("exp", TestTokens.now() - 3600));
        String out = curl("/public", "Authorization: Bearer " + t);
        assertEquals("401", status(out));
        assertTrue(out.startsWith("Jwt is expired"), out);
    }
}
