package io.mesh.gateway.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.HttpUri;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.rbac.v3.Permission;
import io.envoyproxy.envoy.config.rbac.v3.Policy;
import io.envoyproxy.envoy.config.rbac.v3.Principal;
import io.envoyproxy.envoy.config.rbac.v3.RBAC;
import io.envoyproxy.envoy.extensions.filters.http.ext_authz.v3.AuthorizationRequest;
import io.envoyproxy.envoy.extensions.filters.http.ext_authz.v3.AuthorizationResponse;
import io.envoyproxy.envoy.extensions.filters.http.ext_authz.v3.ExtAuthz;
import io.envoyproxy.envoy.extensions.filters.http.ext_authz.v3.HttpService;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.type.matcher.v3.ListStringMatcher;
import io.envoyproxy.envoy.type.matcher.v3.MetadataMatcher;
import io.envoyproxy.envoy.type.matcher.v3.PathMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.envoyproxy.envoy.type.matcher.v3.ValueMatcher;
import io.mesh.testing.FreePorts;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * An AuthorizationPolicy CUSTOM action as istiod serves it to the ingress gateway: an RBAC filter with only
 * {@code shadow_rules} (prefix {@code istio_ext_authz_}) marking the requests the policy selects (/app..., /headers...),
 * then {@code envoy.filters.http.ext_authz} with an {@code http_service} whose {@code filter_enabled_metadata} matches
 * that mark. A real HTTP authorization server (Vert.x, in the test) allows a request carrying {@code x-allow: yes},
 * denies others with 403, a body and headers, and answers {@code /check/slow...} too late; requests by curl, lines read
 * from the access log ({@code io.mesh.gateway.access}).
 */
class RouterExtAuthzTest {

    @RegisterExtension
    static final RouterFixture MESH = new RouterFixture();
    static final AccessLogCapture CAPTURE = new AccessLogCapture();
    static final String POLICY = "istio-ext-authz-ns[istio-system]-policy[ext]-rule[0]";
    static Backend web;
    static HttpServer authz;
    static final AtomicInteger checks = new AtomicInteger();
    /** The last check request the authorization server got: its path and headers. */
    static volatile String lastCheckPath;
    static volatile String lastCheckMethod;
    static volatile String lastCheckBody;
    static volatile io.vertx.core.MultiMap lastCheckHeaders;
    static TestGateway gw;
    static int port;
    static int downPort;
    static int failOpenPort;
    static int jwtPort;
    static int bodyPort;
    static int partialPort;

    @BeforeAll
    static void start() throws Exception {
        Logger.getLogger("io.mesh.gateway.access").addHandler(CAPTURE);
        web = MESH.backend("web");
        int authzPort = FreePorts.next();
        authz = MESH.vertx().createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(authzPort))
                .requestHandler(req -> req.body().onSuccess(checkBody -> {
                    checks.incrementAndGet();
                    lastCheckPath = req.uri();
                    lastCheckMethod = req.method().name();
                    lastCheckHeaders = io.vertx.core.MultiMap.caseInsensitiveMultiMap().addAll(req.headers());
                    lastCheckBody = checkBody.toString();
                    var resp = req.response();
                    if (req.path().startsWith("/check/app/slow")) {
                        MESH.vertx().setTimer(3000, t -> resp.end());
                    } else if ("yes".equals(req.getHeader("x-allow"))) {
                        resp.putHeader("x-authz-user", "alice").putHeader("x-authz-extra", "from-authz")
                                .putHeader("x-client-ok", "1").putHeader("x-not-allowed", "no")
                                .putHeader("x-envoy-auth-headers-to-remove", "x-secret").end();
                    } else {
                        resp.setStatusCode(403).putHeader("x-authz-reason", "no x-allow")
                                .putHeader("x-hidden", "h").end("denied by authz");
                    }
                }));
        authz.listen().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        int dead = FreePorts.next();   // nothing listens here
        port = FreePorts.next();
        downPort = FreePorts.next();
        failOpenPort = FreePorts.next();
        jwtPort = FreePorts.next();
        bodyPort = FreePorts.next();
        partialPort = FreePorts.next();
        ControlPlane pilot = MESH.pilot();
        pilot.set(List.of(Xds.edsCluster("web"), Xds.edsCluster("authz"), Xds.edsCluster("authz-down")),
                List.of(Xds.endpoints("web", web.port), Xds.endpoints("authz", authzPort),
                        Xds.endpoints("authz-down", dead)),
                List.of(listener("ext", port, extAuthz("authz", false)),
                        listener("down", downPort, extAuthz("authz-down", false)),
                        listener("fail-open", failOpenPort, extAuthz("authz-down", true)),
                        listener("with-jwt", jwtPort, extAuthz("authz", false), jwtAuthn()),
                        listener("body", bodyPort, withBody(false)), listener("partial", partialPort, withBody(true))),
                List.of(Xds.routes("http.80", Xds.vhost("all", List.of("*"), Xds.prefixTo("/", "web")))), List.of());
        gw = MESH.startGateway(Map.of());
    }

    @AfterAll
    static void stop() {
        Logger.getLogger("io.mesh.gateway.access").removeHandler(CAPTURE);
    }

    /** istiod's ext_authz for an envoyExtAuthzHttp provider with the fields this test exercises. */
    static ExtAuthz extAuthz(String cluster, boolean failureModeAllow) {
        return ExtAuthz.newBuilder().setFailureModeAllow(failureModeAllow)
                .setHttpService(HttpService.newBuilder().setPathPrefix("/check")
                        .setServerUri(HttpUri.newBuilder().setUri("http://authz.istio-system.svc.cluster.local")
                                .setCluster(cluster).setTimeout(com.google.protobuf.Duration.newBuilder().setSeconds(1)))
                        .setAuthorizationRequest(AuthorizationRequest.newBuilder()
                                .setAllowedHeaders(names("x-allow"))
                                .addHeadersToAdd(HeaderValue.newBuilder().setKey("x-from").setValue("gateway")))
                        .setAuthorizationResponse(AuthorizationResponse.newBuilder()
                                .setAllowedUpstreamHeaders(names("x-authz-user"))
                                .setAllowedUpstreamHeadersToAppend(names("x-authz-extra"))
                                .setAllowedClientHeaders(names("x-authz-reason"))
                                .setAllowedClientHeadersOnSuccess(names("x-client-ok"))))
                .setFilterEnabledMetadata(MetadataMatcher.newBuilder().setFilter("envoy.filters.http.rbac")
                        .addPath(MetadataMatcher.PathSegment.newBuilder().setKey("istio_ext_authz_shadow_effective_policy_id"))
                        .setValue(ValueMatcher.newBuilder().setStringMatch(StringMatcher.newBuilder()
                                .setPrefix("istio-ext-authz"))))
                .build();
    }

    /** {@link #extAuthz} with istiod's includeRequestBodyInCheck: bodies up to 8 bytes. */
    static ExtAuthz withBody(boolean partial) {
        return extAuthz("authz", false).toBuilder().setWithRequestBody(
                io.envoyproxy.envoy.extensions.filters.http.ext_authz.v3.BufferSettings.newBuilder().setMaxRequestBytes(8)
                        .setAllowPartialMessage(partial)).build();
    }

    /** RequestAuthentication as pilot sends it, requiring a token of an issuer (no keys: no token can pass). */
    static HttpFilter jwtAuthn() {
        var jwt = io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication.newBuilder()
                .putProviders("origins-0", io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtProvider.newBuilder()
                        .setIssuer("https://issuer.example").setLocalJwks(io.envoyproxy.envoy.config.core.v3.DataSource
                                .newBuilder().setInlineString("{\"keys\":[]}")).build())
                .addRules(io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.RequirementRule.newBuilder()
                        .setMatch(io.envoyproxy.envoy.config.route.v3.RouteMatch.newBuilder().setPrefix("/"))
                        .setRequires(io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtRequirement.newBuilder()
                                .setProviderName("origins-0")))
                .build();
        return HttpFilter.newBuilder().setName("envoy.filters.http.jwt_authn").setTypedConfig(Any.pack(jwt)).build();
    }

    /** istiod's header list: exact names, case ignored. */
    static ListStringMatcher names(String... names) {
        ListStringMatcher.Builder b = ListStringMatcher.newBuilder();
        for (String n : names) {
            b.addPatterns(StringMatcher.newBuilder().setExact(n).setIgnoreCase(true));
        }
        return b.build();
    }

    /** The shadow RBAC filter marking /app requests, ext_authz, then the router; the access log on. */
    static Listener listener(String name, int port, ExtAuthz ext, HttpFilter... after) {
        RBAC shadow = RBAC.newBuilder().setAction(RBAC.Action.DENY).putPolicies(POLICY, Policy.newBuilder()
                .addPermissions(Permission.newBuilder().setUrlPath(PathMatcher.newBuilder()
                        .setPath(StringMatcher.newBuilder().setPrefix("/app"))))
                .addPermissions(Permission.newBuilder().setUrlPath(PathMatcher.newBuilder()
                        .setPath(StringMatcher.newBuilder().setPrefix("/headers"))))
                .addPermissions(Permission.newBuilder().setUrlPath(PathMatcher.newBuilder()
                        .setPath(StringMatcher.newBuilder().setPrefix("/digest"))))
                .addPrincipals(Principal.newBuilder().setAny(true)).build()).build();
        HttpConnectionManager hcm = HttpResponseCodeDetailsTest.withAccessLog(null);
        hcm = hcm.toBuilder().clearHttpFilters()
                .addHttpFilters(HttpFilter.newBuilder().setName("envoy.filters.http.rbac").setTypedConfig(Any.pack(
                        io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.newBuilder().setShadowRules(shadow)
                                .setShadowRulesStatPrefix("istio_ext_authz_").build())))
                .addHttpFilters(HttpFilter.newBuilder().setName("envoy.filters.http.ext_authz").setTypedConfig(Any.pack(ext)))
                .addAllHttpFilters(List.of(after))
                .addAllHttpFilters(hcm.getHttpFiltersList()).build();
        return HttpResponseCodeDetailsTest.httpListener(name, port, hcm);
    }

    @Test
    void anAllowedRequestReachesTheBackendWithTheAuthorizationServersHeaders() throws Exception {
        Curl r = curl(port, "/headers", "allowed", "x-allow: yes", "x-secret: s3", "x-authz-extra: mine",
                "x-private: p");
        assertEquals(200, r.status, r.toString());
        assertTrue(r.body.contains("x-authz-user: alice"), r.body);
        assertTrue(r.body.contains("x-authz-extra: mine") && r.body.contains("x-authz-extra: from-authz"),
                "appended to the client's: " + r.body);
        assertFalse(r.body.contains("x-not-allowed"), r.body);
        assertFalse(r.body.contains("x-secret"), "removed as the answer's x-envoy-auth-headers-to-remove says: " + r.body);
        assertEquals("1", r.headers.get("x-client-ok"), "allowed_client_headers_on_success");
        assertNull(r.headers.get("x-not-allowed"));
        // The check: path_prefix + the path, the allowed and always-sent headers, headers_to_add, an empty body.
        assertEquals("/check/headers", lastCheckPath);
        assertEquals("yes", lastCheckHeaders.get("x-allow"));
        assertEquals("gateway", lastCheckHeaders.get("x-from"));
        assertEquals("0", lastCheckHeaders.get("content-length"));
        assertEquals("127.0.0.1:" + port, lastCheckHeaders.get("host"));
        assertNull(lastCheckHeaders.get("x-private"), "not in allowed_headers");
        assertTrue(line("allowed").contains("\"response_flags\":\"-\""), line("allowed"));
    }

    @Test
    void anAllowedRequestsBodyWaitsForTheCheckAndReachesTheBackendWhole() throws Exception {
        String body = "x".repeat(100_000);
        int before = checks.get();
        String out = Run.run(List.of("curl", "-s", "-m", "10", "-H", "x-allow: yes", "-H", "content-type: text/plain",
                "--data-binary", "@-", "http://127.0.0.1:" + port + "/digest"), body);
        assertEquals(before + 1, checks.get(), "checked");
        assertEquals("0", lastCheckHeaders.get("content-length"), "the check carries no body");
        assertEquals("POST", lastCheckMethod);
        var sha = Backend.sha256();
        String hex = java.util.HexFormat.of().formatHex(sha.digest(body.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        assertEquals(body.length() + " " + hex, out.strip());
    }

    /** curl POST {@code body} to /digest on {@code port}, allowed by the check: the output (the backend's digest). */
    static String post(int port, String body) throws Exception {
        return Run.run(List.of("curl", "-s", "-m", "10", "-H", "x-allow: yes", "-H", "content-type: text/plain",
                "--data-binary", "@-", "-w", "\n%{http_code}", "http://127.0.0.1:" + port + "/digest"), body);
    }

    static String digest(String body) {
        return body.length() + " " + java.util.HexFormat.of().formatHex(
                Backend.sha256().digest(body.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    }

    @Test
    void withRequestBodyTheCheckCarriesTheBodyAndTheBackendStillGetsItWhole() throws Exception {
        assertEquals(digest("hello") + "\n200", post(bodyPort, "hello"));
        assertEquals("hello", lastCheckBody);
        assertEquals("5", lastCheckHeaders.get("content-length"));
        assertEquals("413", post(bodyPort, "twenty bytes of body").lines().reduce((a, b) -> b).orElseThrow(),
                "longer than max_request_bytes without allow_partial_message");
        assertEquals(digest("twenty bytes of body") + "\n200", post(partialPort, "twenty bytes of body"));
        assertEquals("twenty b", lastCheckBody, "the first max_request_bytes");
    }

    @Test
    void aDeniedRequestGetsTheAuthorizationServersAnswerAndFlagUaex() throws Exception {
        int before = web.hits.get();
        Curl r = curl(port, "/app/x", "denied");
        assertEquals(403, r.status, r.toString());
        assertEquals("denied by authz", r.body);
        assertEquals("no x-allow", r.headers.get("x-authz-reason"));
        assertNull(r.headers.get("x-hidden"), "not in allowed_client_headers");
        assertEquals(before, web.hits.get(), "never reached the backend");
        String line = line("denied");
        assertTrue(line.contains("\"response_flags\":\"UAEX\""), line);
        assertTrue(line.contains("\"response_code_details\":\"ext_authz_denied\""), line);
        await().atMost(Duration.ofSeconds(5)).until(() -> gw.registry.find("istio_requests")
                .tag("response_flags", "UAEX").tag("response_code", "403").counter() != null);
    }

    @Test
    void overHttp2TheCheckGetsTheSameRequestAndTheSameAnswer() throws Exception {
        List<String> h2 = List.of("--http2-prior-knowledge");
        Curl allowed = curl(h2, port, "/headers", "h2-allowed", "x-allow: yes");
        assertEquals(200, allowed.status, allowed.toString());
        assertTrue(allowed.body.contains("x-authz-user: alice"), allowed.body);
        assertEquals("/check/headers", lastCheckPath);
        assertEquals("GET", lastCheckMethod);
        assertEquals("127.0.0.1:" + port, lastCheckHeaders.get("host"));
        Curl denied = curl(h2, port, "/app/x", "h2-denied");
        assertEquals(403, denied.status, denied.toString());
        assertEquals("denied by authz", denied.body);
        assertEquals("no x-allow", denied.headers.get("x-authz-reason"));
    }

    @Test
    void customIsDecidedBeforeJwtAuthnAsIstiodOrdersThem() throws Exception {
        Curl denied = curl(jwtPort, "/app/x", "jwt-denied");
        assertEquals(403, denied.status, "ext_authz answers before jwt_authn could ask for a token: " + denied);
        assertEquals("denied by authz", denied.body);
        Curl allowed = curl(jwtPort, "/app/x", "jwt-missing", "x-allow: yes");
        assertEquals(401, allowed.status, "allowed by ext_authz, then jwt_authn wants its token: " + allowed);
        assertEquals("Jwt is missing", allowed.body);
    }

    @Test
    void aPathTheShadowRuleDoesNotMatchIsNotChecked() throws Exception {
        int before = checks.get();
        Curl r = curl(port, "/public", "unchecked");
        assertEquals(200, r.status, r.toString());
        assertEquals("web", r.body);
        assertEquals(before, checks.get(), "filter_enabled_metadata did not match: no check");
    }

    @Test
    void aCheckThatTimesOutAnswersStatusOnError() throws Exception {
        Curl r = curl(port, "/app/slow", "slow", "x-allow: yes");
        assertEquals(403, r.status, r.toString());
        String line = line("slow");
        assertTrue(line.contains("\"response_flags\":\"UAEX\""), line);
        assertTrue(line.contains("\"response_code_details\":\"ext_authz_error\""), line);
    }

    @Test
    void anAuthorizationServerThatIsDownDeniesWith403OrAllowsWithFailureModeAllow() throws Exception {
        int before = web.hits.get();
        Curl down = curl(downPort, "/app/x", "down", "x-allow: yes");
        assertEquals(403, down.status, down.toString());
        assertEquals("", down.body);
        assertEquals(before, web.hits.get());
        assertTrue(line("down").contains("\"response_flags\":\"UAEX\""), line("down"));
        Curl open = curl(failOpenPort, "/app/x", "fail-open");
        assertEquals(200, open.status, open.toString());
        assertEquals("web", open.body);
    }

    record Curl(int status, Map<String, String> headers, String body) {
    }

    /** curl GET {@code path} on {@code port} with {@code x-request-id: id} and {@code headers}: status, headers, body. */
    static Curl curl(int port, String path, String id, String... headers) throws Exception {
        return curl(List.of(), port, path, id, headers);
    }

    /** {@link #curl} with curl's {@code options} first (e.g. HTTP/2). */
    static Curl curl(List<String> options, int port, String path, String id, String... headers) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("curl", "-s", "-i", "-m", "10", "-H", "x-request-id: " + id));
        cmd.addAll(options);
        for (String h : headers) {
            cmd.add("-H");
            cmd.add(h);
        }
        cmd.add("http://127.0.0.1:" + port + path);
        String out = Run.run(cmd, null);
        int split = out.indexOf("\r\n\r\n");
        assertTrue(split > 0, out);
        String[] head = out.substring(0, split).split("\r\n");
        Map<String, String> h = new LinkedHashMap<>();   // the status line: "HTTP/1.1 200 OK" or "HTTP/2 200"
        for (int i = 1; i < head.length; i++) {
            int colon = head[i].indexOf(':');
            h.put(head[i].substring(0, colon).toLowerCase(), head[i].substring(colon + 1).strip());
        }
        return new Curl(Integer.parseInt(head[0].split(" ")[1]), h, out.substring(split + 4));
    }

    static String line(String id) {
        String of = "\"request_id\":\"" + id + "\"";
        await().atMost(Duration.ofSeconds(10)).until(() -> CAPTURE.lines.stream().anyMatch(l -> l.contains(of)));
        return CAPTURE.lines.stream().filter(l -> l.contains(of)).findFirst().orElseThrow();
    }
}
