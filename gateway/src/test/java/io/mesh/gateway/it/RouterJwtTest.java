package io.mesh.gateway.it;

import static io.mesh.gateway.xds.RbacMetadataTest.exact;
import static io.mesh.gateway.xds.RbacMetadataTest.meta;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import com.google.protobuf.Empty;
import com.google.protobuf.Struct;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
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
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.RemoteJwks;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.RequirementRule;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.type.matcher.v3.ListMatcher;
import io.envoyproxy.envoy.type.matcher.v3.PathMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.envoyproxy.envoy.type.matcher.v3.ValueMatcher;
import io.mesh.gateway.jwt.TestTokens;
import io.mesh.testing.FreePorts;
import io.vertx.core.json.JsonArray;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A RequestAuthentication and AuthorizationPolicies on the ingress gateway, in the listener shape pilot sends (as
 * istiod): jwt_authn (two issuers, istiod's requires_any + allow_missing), istio_authn, a DENY RBAC filter on a claim
 * and an ALLOW one on request principals, then the router. Requests go through the real data plane with the JDK's
 * HTTP client and raw sockets; the upstream echoes what it received.
 */
class RouterJwtTest {

    static final String ISS = "https://issuer.example";
    static final String OTHER = "https://other.example";
    @RegisterExtension
    static final RouterFixture MESH = new RouterFixture();
    static Backend web;
    static ControlPlane pilot;
    static TestGateway gw;
    static int port;
    static TestTokens.Key key;
    static TestTokens.Key otherKey;
    static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    static final AccessLogCapture CAPTURE = new AccessLogCapture();

    @BeforeAll
    static void start() throws Exception {
        java.util.logging.Logger.getLogger("io.mesh.gateway.access").addHandler(CAPTURE);
        web = MESH.backend("web");
        pilot = MESH.pilot();
        port = FreePorts.next();
        key = TestTokens.rsa("k1");
        otherKey = TestTokens.ec("o1", "P-256");
        publish(jwks(TestTokens.jwks(key)));
        gw = MESH.startGateway(Map.of());
    }

    @org.junit.jupiter.api.AfterAll
    static void stopCapture() {
        java.util.logging.Logger.getLogger("io.mesh.gateway.access").removeHandler(CAPTURE);
    }

    static JwtProvider.Builder jwks(String inline) {
        return JwtProvider.newBuilder().setLocalJwks(DataSource.newBuilder().setInlineString(inline));
    }

    /** The listener as pilot sends it, with {@code first} as the first issuer's provider (its keys varied by tests). */
    static String publish(JwtProvider.Builder first) {
        JwtProvider p0 = first.setIssuer(ISS).setForward(false).setForwardPayloadHeader("x-jwt-payload")
                .setPayloadInMetadata(ISS)
                .addClaimToHeaders(JwtClaimToHeader.newBuilder().setHeaderName("x-jwt-sub").setClaimName("sub")).build();
        JwtProvider p1 = jwks(TestTokens.jwks(otherKey)).setIssuer(OTHER).setForward(true).build();
        JwtAuthentication jwt = JwtAuthentication.newBuilder().putProviders("origins-0", p0).putProviders("origins-1", p1)
                .addRules(RequirementRule.newBuilder().setMatch(RouteMatch.newBuilder().setPrefix("/"))
                        .setRequires(JwtRequirement.newBuilder().setRequiresAny(JwtRequirementOrList.newBuilder()
                                .addRequirements(JwtRequirement.newBuilder().setProviderName("origins-0"))
                                .addRequirements(JwtRequirement.newBuilder().setProviderName("origins-1"))
                                .addRequirements(JwtRequirement.newBuilder().setAllowMissing(Empty.getDefaultInstance())))))
                .setBypassCorsPreflight(true).build();
        // AuthorizationPolicy DENY when request.auth.claims[groups] = banned.
        RBAC deny = RBAC.newBuilder().setAction(RBAC.Action.DENY).putPolicies("ns[istio-system]-policy[no-banned]-rule[0]",
                Policy.newBuilder().addPermissions(Permission.newBuilder().setAny(true))
                        .addPrincipals(Principal.newBuilder().setMetadata(meta("request.auth.claims", "groups")
                                .setValue(ValueMatcher.newBuilder().setListMatch(ListMatcher.newBuilder()
                                        .setOneOf(exact("banned")))))).build()).build();
        // AuthorizationPolicy ALLOW: /public to anyone; anything to requestPrincipals ["https://issuer.example/*",
        // "https://other.example/bob"].
        RBAC allow = RBAC.newBuilder().setAction(RBAC.Action.ALLOW)
                .putPolicies("ns[istio-system]-policy[public]-rule[0]", Policy.newBuilder()
                        .addPermissions(Permission.newBuilder().setUrlPath(PathMatcher.newBuilder()
                                .setPath(StringMatcher.newBuilder().setPrefix("/public"))))
                        .addPrincipals(Principal.newBuilder().setAny(true)).build())
                .putPolicies("ns[istio-system]-policy[users]-rule[0]", Policy.newBuilder()
                        .addPermissions(Permission.newBuilder().setAny(true))
                        .addPrincipals(Principal.newBuilder().setOrIds(Principal.Set.newBuilder()
                                .addIds(Principal.newBuilder().setMetadata(meta("request.auth.principal").setValue(
                                        ValueMatcher.newBuilder().setStringMatch(StringMatcher.newBuilder().setPrefix(ISS + "/")))))
                                .addIds(Principal.newBuilder().setMetadata(meta("request.auth.principal")
                                        .setValue(exact(OTHER + "/bob")))))).build())
                .build();
        HttpConnectionManager base = Xds.hcm("http.80");
        HttpConnectionManager hcm = base.toBuilder().clearHttpFilters()
                .addHttpFilters(HttpFilter.newBuilder().setName("envoy.filters.http.jwt_authn").setTypedConfig(Any.pack(jwt)))
                .addHttpFilters(HttpFilter.newBuilder().setName("istio_authn").setTypedConfig(Any.pack(
                        com.github.udpa.udpa.type.v1.TypedStruct.newBuilder()
                                .setTypeUrl("type.googleapis.com/io.istio.network.authn.Config")
                                .setValue(Struct.getDefaultInstance()).build())))
                .addHttpFilters(HttpFilter.newBuilder().setName("envoy.filters.http.rbac").setTypedConfig(Any.pack(
                        io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.newBuilder().setRules(deny).build())))
                .addHttpFilters(HttpFilter.newBuilder().setName("envoy.filters.http.rbac").setTypedConfig(Any.pack(
                        io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.newBuilder().setRules(allow).build())))
                .addAllHttpFilters(base.getHttpFiltersList())
                // What the JWT filters wrote, as an access log reads it: istio_authn's principal, jwt_authn's payload.
                .addAccessLog(AccessLogFormatsTest.log(AccessLogFormatsTest.text("jwt %REQ(X-REQUEST-ID)%"
                        + " %DYNAMIC_METADATA(istio_authn:request.auth.principal)%"
                        + " %DYNAMIC_METADATA(envoy.filters.http.jwt_authn)%"))).build();
        Listener listener = Xds.httpListener("http", port, "http.80").toBuilder().clearFilterChains()
                .addFilterChains(FilterChain.newBuilder().addFilters(Filter.newBuilder()
                        .setName("envoy.filters.network.http_connection_manager").setTypedConfig(Any.pack(hcm))))
                .build();
        return pilot.set(List.of(Xds.edsCluster("web")), List.of(Xds.endpoints("web", web.port)), List.of(listener),
                List.of(Xds.routes("http.80", Xds.vhost("all", List.of("*"), Xds.prefixTo("/", "web")))), List.of());
    }

    static HttpResponse<String> send(String method, String path, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .method(method, HttpRequest.BodyPublishers.noBody()).timeout(Duration.ofSeconds(20));
        if (headers.length > 0) {
            b.headers(headers);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static String token(String sub) throws Exception {
        return TestTokens.sign(key, "RS256", TestTokens.claims(ISS, sub));
    }

    /** The upstream's /headers echo as name → value lines. */
    static boolean echoed(HttpResponse<String> r, String line) {
        return r.body().lines().anyMatch(line::equals);
    }

    static boolean echoedName(HttpResponse<String> r, String name) {
        return r.body().lines().anyMatch(l -> l.startsWith(name + ": "));
    }

    @Test
    void withoutATokenPublicPathsAreServedAndOthersNeedARequestPrincipal() throws Exception {
        HttpResponse<String> pub = send("GET", "/public/page");
        assertEquals(200, pub.statusCode(), "allow_missing: no token passes jwt_authn");
        assertEquals("web", pub.body());
        HttpResponse<String> priv = send("GET", "/private");
        assertEquals(403, priv.statusCode(), "the ALLOW policy asks for a request principal");
        assertEquals("RBAC: access denied", priv.body());
    }

    @Test
    void aValidTokenIsServedWithItsClaimHeadersAndWithoutTheTokenItself() throws Exception {
        String t = token("alice");
        HttpResponse<String> r = send("GET", "/headers", "Authorization", "Bearer " + t, "x-jwt-sub", "mallory");
        assertEquals(200, r.statusCode(), r.body());
        assertTrue(echoed(r, "x-jwt-sub: alice"), r.body());
        assertFalse(echoed(r, "x-jwt-sub: mallory"), "the client's own claim header is dropped");
        assertTrue(echoed(r, "x-jwt-payload: " + t.split("\\.")[1]), r.body());
        assertFalse(echoedName(r, "authorization"), "forward: false strips the token: " + r.body());
        send("GET", "/headers", "Authorization", "Bearer " + t, "x-request-id", "jwt-logged");
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> CAPTURE.lines.stream()
                .anyMatch(l -> l.startsWith("jwt jwt-logged ")));
        String line = CAPTURE.lines.stream().filter(l -> l.startsWith("jwt jwt-logged ")).findFirst().orElseThrow();
        assertTrue(line.startsWith("jwt jwt-logged " + ISS + "/alice {\"" + ISS + "\":{"), line);
        assertTrue(line.contains("\"sub\":\"alice\""), line);
    }

    @Test
    void aForwardedTokenReachesTheUpstreamAndItsPrincipalIsAllowed() throws Exception {
        String bob = TestTokens.sign(otherKey, "ES256", TestTokens.claims(OTHER, "bob"));
        HttpResponse<String> r = send("GET", "/headers", "Authorization", "Bearer " + bob);
        assertEquals(200, r.statusCode(), r.body());
        assertTrue(echoed(r, "authorization: Bearer " + bob), "forward: true keeps it: " + r.body());
        String carol = TestTokens.sign(otherKey, "ES256", TestTokens.claims(OTHER, "carol"));
        assertEquals(403, send("GET", "/headers", "Authorization", "Bearer " + carol).statusCode(),
                "a verified token whose principal no policy allows");
    }

    @Test
    void expiredAndForgedTokensGetEnvoys401WithAChallenge() throws Exception {
        String expired = TestTokens.sign(key, "RS256", TestTokens.claims(ISS, "alice").put("exp", TestTokens.now() - 3600));
        int hits = web.hits.get();
        HttpResponse<String> r = send("GET", "/public/x?y=1", "Authorization", "Bearer " + expired);
        assertEquals(401, r.statusCode());
        assertEquals("Jwt is expired", r.body());
        assertEquals("Bearer realm=\"http://127.0.0.1:" + port + "/public/x?y=1\", error=\"invalid_token\"",
                r.headers().firstValue("www-authenticate").orElse(null));
        String forged = TestTokens.sign(TestTokens.rsa("k1"), "RS256", TestTokens.claims(ISS, "admin"));
        HttpResponse<String> f = send("GET", "/private", "Authorization", "Bearer " + forged);
        assertEquals(401, f.statusCode());
        assertEquals("Jwt verification fails", f.body());
        String stranger = TestTokens.sign(key, "RS256", TestTokens.claims("https://evil.example", "x"));
        assertEquals("Jwt issuer is not configured", send("GET", "/public", "Authorization", "Bearer " + stranger).body());
        assertEquals(hits, web.hits.get(), "refused tokens never reach the upstream");
    }

    @Test
    void theAccessTokenQueryParameterAuthenticatesAndIsNotForwarded() throws Exception {
        HttpResponse<String> r = send("GET", "/private/list?page=2&access_token=" + token("alice"));
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("/private/list?page=2", web.lastPath, "forward: false takes the parameter out too");
    }

    @Test
    void aDenyPolicyOnAClaimValueRefusesTheToken() throws Exception {
        String banned = TestTokens.sign(key, "RS256", TestTokens.claims(ISS, "eve")
                .put("groups", new JsonArray().add("dev").add("banned")));
        HttpResponse<String> r = send("GET", "/public", "Authorization", "Bearer " + banned);
        assertEquals(403, r.statusCode());
        assertEquals("RBAC: access denied", r.body());
        String dev = TestTokens.sign(key, "RS256", TestTokens.claims(ISS, "dan").put("groups", new JsonArray().add("dev")));
        assertEquals(200, send("GET", "/public", "Authorization", "Bearer " + dev).statusCode());
    }

    @Test
    void aCorsPreflightIsNotAskedForAToken() throws Exception {
        HttpResponse<String> r = send("OPTIONS", "/public/api", "Origin", "https://app.example",
                "Access-Control-Request-Method", "POST", "Authorization", "Bearer not-a-token");
        assertEquals(200, r.statusCode(), "the preflight passes jwt_authn: " + r.body());
        HttpResponse<String> options = send("OPTIONS", "/public/api", "Authorization", "Bearer not-a-token");
        assertEquals(401, options.statusCode(), "an OPTIONS request that is no preflight is checked");
    }

    @Test
    void overHttp2TheTokenIsCheckedStrippedAndItsClaimAdded() throws Exception {
        String ok = h2get("/headers", token("alice"));
        assertTrue(ok.startsWith("HTTP/2 200"), ok);
        assertTrue(ok.lines().anyMatch("x-jwt-sub: alice"::equals), ok);
        assertFalse(ok.lines().anyMatch(l -> l.startsWith("authorization:")), ok);
        String expired = TestTokens.sign(key, "RS256", TestTokens.claims(ISS, "alice").put("exp", 1000));
        String refused = h2get("/private", expired);
        assertTrue(refused.startsWith("HTTP/2 401"), refused);
        assertTrue(refused.contains("\r\nwww-authenticate: Bearer realm=\"http://127.0.0.1:" + port
                + "/private\", error=\"invalid_token\"\r\n"), refused);
        assertTrue(refused.endsWith("\r\n\r\nJwt is expired"), refused);
    }

    /** curl over h2c (prior knowledge) with a bearer token: the response head and body as curl prints them. */
    static String h2get(String path, String token) throws Exception {
        return Run.run(List.of("curl", "-s", "-m", "10", "--http2-prior-knowledge", "-i", "-H", "authorization: Bearer " + token,
                "http://127.0.0.1:" + port + path), null);
    }

    @Test
    void requestsOnAJwtChainTakeTheVertxPathEvenInTheFastPathsShape() throws Exception {
        long fast = gw.gateway.dataPlane().fastPathRequests();
        String expired = TestTokens.sign(key, "RS256", TestTokens.claims(ISS, "alice").put("exp", 1000));
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(20_000);
            FastPathTest.send(s, "GET /public HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer " + expired + "\r\n\r\n");
            FastPathTest.Resp refused = FastPathTest.read(s);
            assertEquals(401, refused.status());
            assertEquals("Jwt is expired", refused.body());
            FastPathTest.send(s, "GET /public HTTP/1.1\r\nHost: a\r\n\r\n");
            assertEquals(200, FastPathTest.read(s).status());
            FastPathTest.send(s, "GET /private HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer " + token("alice") + "\r\n\r\n");
            assertEquals(200, FastPathTest.read(s).status());
        }
        assertEquals(fast, gw.gateway.dataPlane().fastPathRequests(), "none of them on the fast path");
    }

    static void awaitNack(String text) {
        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> pilot.nacks().stream()
                .anyMatch(n -> n.getErrorDetail().getMessage().contains(text)));
    }

    @Test
    void aBadJwtConfigIsRejectedAndThePreviousOneStaysInForce() throws Exception {
        publish(JwtProvider.newBuilder().setRemoteJwks(RemoteJwks.newBuilder().setHttpUri(
                io.envoyproxy.envoy.config.core.v3.HttpUri.newBuilder().setUri(ISS + "/jwks").setCluster("jwks"))));
        awaitNack("listener http filter chain #0 envoy.filters.http.jwt_authn provider origins-0: remote_jwks is not supported");
        publish(jwks("this is not JSON"));
        awaitNack("provider origins-0: local_jwks: Jwks is an invalid JSON");
        // The previous listener serves on: its keys verify, its failures answer as before.
        assertEquals(200, send("GET", "/private", "Authorization", "Bearer " + token("alice")).statusCode());
        String expired = TestTokens.sign(key, "RS256", TestTokens.claims(ISS, "alice").put("exp", 1000));
        assertEquals(401, send("GET", "/private", "Authorization", "Bearer " + expired).statusCode());
        publish(jwks(TestTokens.jwks(key)));
    }
}
