package io.mesh.gateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.protobuf.Any;
import com.google.protobuf.Empty;
import com.google.protobuf.Struct;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtProvider;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtRequirement;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtRequirementOrList;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.RequirementRule;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.type.matcher.v3.ListMatcher;
import io.envoyproxy.envoy.type.matcher.v3.MetadataMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.envoyproxy.envoy.type.matcher.v3.ValueMatcher;
import io.mesh.gateway.jwt.TestTokens;
import io.mesh.testing.FreePorts;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Istio's "JWT claim based routing" task through the real data plane: the router's listener as pilot sends it for a
 * RequestAuthentication (jwt_authn with allow_missing, istio_authn, router) and the routes pilot writes for a
 * VirtualService with {@code @request.auth.claims.groups: {exact: group1}} (→ backend a) and
 * {@code @request.auth.claims.org.team: {prefix: core}} (→ backend c) ahead of a default route (→ backend b). Tokens
 * are signed with JDK keys; requests go through the JDK's HTTP client and raw sockets.
 */
class RouterClaimRoutingTest {

    static final String ISS = "https://issuer.example";
    @RegisterExtension
    static final RouterFixture MESH = new RouterFixture();
    static Backend a;
    static Backend b;
    static Backend c;
    static ControlPlane pilot;
    static TestGateway gw;
    static int port;
    static int plainPort;
    static TestTokens.Key key;
    static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @BeforeAll
    static void start() throws Exception {
        a = MESH.backend("a");
        b = MESH.backend("b");
        c = MESH.backend("c");
        pilot = MESH.pilot();
        port = FreePorts.next();
        plainPort = FreePorts.next();
        key = TestTokens.rsa("k1");
        publish();
        gw = MESH.startGateway(Map.of());
    }

    /** A claim condition as pilot (istiod) writes it: istio_authn [request.auth.claims, path...], one list element. */
    static MetadataMatcher claim(StringMatcher s, String... path) {
        String[] keys = new String[path.length + 1];
        keys[0] = "request.auth.claims";
        System.arraycopy(path, 0, keys, 1, path.length);
        return io.mesh.gateway.xds.RbacMetadataTest.meta(keys).setValue(ValueMatcher.newBuilder().setListMatch(ListMatcher.newBuilder()
                .setOneOf(ValueMatcher.newBuilder().setStringMatch(s)))).build();
    }

    static Route to(String name, String cluster, MetadataMatcher... claims) {
        return Route.newBuilder().setName(name).setMatch(RouteMatch.newBuilder().setPrefix("/")
                .addAllDynamicMetadata(List.of(claims))).setRoute(RouteAction.newBuilder().setCluster(cluster)).build();
    }

    static void publish() {
        JwtProvider p = JwtProvider.newBuilder().setIssuer(ISS).setPayloadInMetadata(ISS)
                .setLocalJwks(DataSource.newBuilder().setInlineString(TestTokens.jwks(key))).build();
        JwtAuthentication jwt = JwtAuthentication.newBuilder().putProviders("origins-0", p)
                .addRules(RequirementRule.newBuilder().setMatch(RouteMatch.newBuilder().setPrefix("/"))
                        .setRequires(JwtRequirement.newBuilder().setRequiresAny(JwtRequirementOrList.newBuilder()
                                .addRequirements(JwtRequirement.newBuilder().setProviderName("origins-0"))
                                .addRequirements(JwtRequirement.newBuilder().setAllowMissing(Empty.getDefaultInstance())))))
                .build();
        HttpConnectionManager base = Xds.hcm("http.80");
        HttpConnectionManager hcm = base.toBuilder().clearHttpFilters()
                .addHttpFilters(HttpFilter.newBuilder().setName("envoy.filters.http.jwt_authn").setTypedConfig(Any.pack(jwt)))
                .addHttpFilters(HttpFilter.newBuilder().setName("istio_authn").setTypedConfig(Any.pack(
                        com.github.udpa.udpa.type.v1.TypedStruct.newBuilder()
                                .setTypeUrl("type.googleapis.com/io.istio.network.authn.Config")
                                .setValue(Struct.getDefaultInstance()).build())))
                .addAllHttpFilters(base.getHttpFiltersList()).build();
        Listener listener = Xds.httpListener("http", port, "http.80").toBuilder().clearFilterChains()
                .addFilterChains(FilterChain.newBuilder().addFilters(Filter.newBuilder()
                        .setName("envoy.filters.network.http_connection_manager").setTypedConfig(Any.pack(hcm))))
                .build();
        List<Route> routes = List.of(to("group1", "a", claim(StringMatcher.newBuilder().setExact("group1").build(), "groups")),
                to("core-team", "c", claim(StringMatcher.newBuilder().setPrefix("core").build(), "org", "team")),
                to("default", "b"));
        // The same routes on a listener without a JWT filter: its requests have no metadata, in the fast path's shape.
        pilot.set(List.of(Xds.edsCluster("a"), Xds.edsCluster("b"), Xds.edsCluster("c")),
                List.of(Xds.endpoints("a", a.port), Xds.endpoints("b", b.port), Xds.endpoints("c", c.port)),
                List.of(listener, Xds.httpListener("plain", plainPort, "http.plain")),
                List.of(Xds.routes("http.80", Xds.vhost("all", List.of("*"), routes.toArray(Route[]::new))),
                        Xds.routes("http.plain", Xds.vhost("all", List.of("*"), routes.toArray(Route[]::new)))),
                List.of());
    }

    static String routedTo(String... headers) throws Exception {
        HttpRequest.Builder r = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/items"))
                .timeout(Duration.ofSeconds(20));
        if (headers.length > 0) {
            r.headers(headers);
        }
        HttpResponse<String> resp = HTTP.send(r.build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, resp.statusCode(), resp.body());
        return resp.body();
    }

    static String bearer(JsonObject claims) throws Exception {
        return "Bearer " + TestTokens.sign(key, "RS256", claims);
    }

    static JsonObject claims(String sub) {
        return TestTokens.claims(ISS, sub);
    }

    @Test
    void aTokenInGroup1IsRoutedToItsBackendAndOthersToTheDefault() throws Exception {
        assertEquals("a", routedTo("Authorization", bearer(claims("alice").put("groups", new JsonArray().add("dev")
                .add("group1")))));
        assertEquals("a", routedTo("Authorization", bearer(claims("alice").put("groups", "group1"))),
                "a string claim is a list of one");
        assertEquals("b", routedTo("Authorization", bearer(claims("bob").put("groups", new JsonArray().add("group2")))));
        assertEquals("b", routedTo("Authorization", bearer(claims("bob"))), "a token without the claim");
        assertEquals("b", routedTo(), "no token (allow_missing)");
    }

    @Test
    void aNestedClaimIsMatchedThroughTheTokensObjects() throws Exception {
        assertEquals("c", routedTo("Authorization", bearer(claims("carol").put("org", new JsonObject()
                .put("team", "core-platform")))));
        assertEquals("b", routedTo("Authorization", bearer(claims("carol").put("org", new JsonObject()
                .put("team", "web")))));
        assertEquals("b", routedTo("Authorization", bearer(claims("carol").put("org", "core"))),
                "a claim that is no object has no nested claims");
    }

    @Test
    void aClaimHeaderSentByTheClientIsNoClaim() throws Exception {
        assertEquals("b", routedTo("x-groups", "group1", "groups", "group1"));
    }

    @Test
    void requestsOnRoutesThatReadMetadataTakeTheVertxPathAndTheDefaultRouteWithoutAJwtFilter() throws Exception {
        long fast = gw.gateway.dataPlane().fastPathRequests();
        try (Socket s = new Socket("127.0.0.1", plainPort)) {
            s.setSoTimeout(20_000);
            for (int i = 0; i < 3; i++) {
                FastPathTest.send(s, "GET /items HTTP/1.1\r\nHost: shop\r\n\r\n");
                FastPathTest.Resp r = FastPathTest.read(s);
                assertEquals(200, r.status());
                assertEquals("b", r.body());
            }
        }
        assertEquals(fast, gw.gateway.dataPlane().fastPathRequests(), "none of them on the fast path");
    }
}
