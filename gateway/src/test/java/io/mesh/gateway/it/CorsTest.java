package io.mesh.gateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import com.google.protobuf.BoolValue;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.extensions.filters.http.cors.v3.CorsPolicy;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.mesh.testing.Chromium;
import io.mesh.testing.FreePorts;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A VirtualService's corsPolicy at the gateway, in the form pilot sends it (the CORS filter's per-route
 * CorsPolicy): preflights from an allowed origin are answered by the gateway, responses to it carry the
 * Access-Control headers, other origins pass through untouched; and a real browser (headless Chromium) on another
 * origin can call a route with the policy and is stopped by one without it.
 */
class CorsTest {
    @RegisterExtension
    static final RouterFixture MESH = new RouterFixture();
    static Vertx vertx;
    static Backend web;
    static ControlPlane pilot;
    static TestGateway gw;
    static int port;
    static HttpServer pages;
    static int pagePort;
    static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    static String pageOrigin() {
        return "http://127.0.0.1:" + pagePort;
    }

    @BeforeAll
    static void start() throws Exception {
        vertx = MESH.vertx();
        web = MESH.backend("web");
        pagePort = FreePorts.next();
        port = FreePorts.next();
        // Istio's translation of corsPolicy {allowOrigins: [{exact: <page origin>}, {prefix: "https://"}],
        // allowMethods: [GET, PUT], allowHeaders: [content-type, x-user], exposeHeaders: [x-backend], maxAge: 10m}.
        CorsPolicy open = CorsPolicy.newBuilder()
                .addAllowOriginStringMatch(StringMatcher.newBuilder().setExact(pageOrigin()))
                .addAllowOriginStringMatch(StringMatcher.newBuilder().setPrefix("https://"))
                .setAllowMethods("GET,PUT").setAllowHeaders("content-type,x-user").setExposeHeaders("x-backend")
                .setMaxAge("600").setForwardNotMatchingPreflights(BoolValue.of(true)).build();
        CorsPolicy ignoring = open.toBuilder().setForwardNotMatchingPreflights(BoolValue.of(false))
                .setAllowCredentials(BoolValue.of(true)).build();
        pilot = MESH.pilot();
        pilot.set(List.of(Xds.edsCluster("web")), List.of(Xds.endpoints("web", web.port)),
                List.of(Xds.httpListener("http", port, "http.80")),
                List.of(Xds.routes("http.80", Xds.vhost("all", List.of("*"),
                        cors("/api", open), cors("/strict", ignoring), Xds.prefixTo("/", "web")))),
                List.of());
        gw = MESH.startGateway(Map.of());
        pages = vertx.createHttpServer().requestHandler(req -> req.response().putHeader("content-type", "text/html")
                .end(PAGE.replace("GATEWAY", "http://localhost:" + port)));
        pages.listen(pagePort, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    static Route cors(String prefix, CorsPolicy policy) {
        return Route.newBuilder().setName(prefix).setMatch(RouteMatch.newBuilder().setPrefix(prefix))
                .setRoute(RouteAction.newBuilder().setCluster("web").setPrefixRewrite("/"))
                .putTypedPerFilterConfig("envoy.filters.http.cors", Any.pack(policy)).build();
    }

    static HttpResponse<String> send(String method, String path, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .method(method, HttpRequest.BodyPublishers.noBody());
        if (headers.length > 0) {
            b.headers(headers);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static String header(HttpResponse<?> r, String name) {
        return r.headers().firstValue(name).orElse(null);
    }

    @Test
    void aPreflightFromAnAllowedOriginIsAnsweredByTheGateway() throws Exception {
        int hits = web.hits.get();
        HttpResponse<String> r = send("OPTIONS", "/api/items", "Origin", "https://shop.example",
                "Access-Control-Request-Method", "PUT", "Access-Control-Request-Headers", "x-user");
        assertEquals(200, r.statusCode());
        assertEquals("https://shop.example", header(r, "access-control-allow-origin"), r.headers().toString());
        assertEquals("GET,PUT", header(r, "access-control-allow-methods"));
        assertEquals("content-type,x-user", header(r, "access-control-allow-headers"));
        assertEquals("600", header(r, "access-control-max-age"));
        assertNull(header(r, "access-control-allow-credentials"), "not allowed by this policy");
        assertNull(header(r, "access-control-expose-headers"), "not on a preflight");
        assertEquals(hits, web.hits.get(), "the backend never saw the preflight");
        assertNull(header(r, "connection"), "the connection stays open for the request that follows");
    }

    @Test
    void responsesToAnAllowedOriginCarryTheCorsHeadersAndOthersAreUntouched() throws Exception {
        HttpResponse<String> allowed = send("GET", "/api/items", "Origin", pageOrigin());
        assertEquals(200, allowed.statusCode());
        assertEquals("web", allowed.body());
        assertEquals(pageOrigin(), header(allowed, "access-control-allow-origin"));
        assertEquals("x-backend", header(allowed, "access-control-expose-headers"));

        HttpResponse<String> other = send("GET", "/api/items", "Origin", "http://evil.example");
        assertEquals(200, other.statusCode());
        assertNull(header(other, "access-control-allow-origin"), other.headers().toString());
        HttpResponse<String> sameOrigin = send("GET", "/api/items");
        assertNull(header(sameOrigin, "access-control-allow-origin"));
        HttpResponse<String> noPolicy = send("GET", "/other", "Origin", pageOrigin());
        assertNull(header(noPolicy, "access-control-allow-origin"), "a route without a policy");
    }

    @Test
    void aPreflightFromAnotherOriginGoesToTheUpstreamUnlessThePolicySaysIgnore() throws Exception {
        int hits = web.hits.get();
        HttpResponse<String> forwarded = send("OPTIONS", "/api/items", "Origin", "http://evil.example",
                "Access-Control-Request-Method", "PUT");
        assertEquals("web", forwarded.body(), "forwarded (Istio's default, unmatchedPreflights: FORWARD)");
        assertNull(header(forwarded, "access-control-allow-origin"));
        assertEquals(hits + 1, web.hits.get());

        HttpResponse<String> ignored = send("OPTIONS", "/strict/items", "Origin", "http://evil.example",
                "Access-Control-Request-Method", "PUT");
        assertEquals(200, ignored.statusCode());
        assertEquals("", ignored.body());
        assertNull(header(ignored, "access-control-allow-origin"));
        assertEquals(hits + 1, web.hits.get(), "unmatchedPreflights: IGNORE answers it without the upstream");

        HttpResponse<String> credentials = send("OPTIONS", "/strict/items", "Origin", pageOrigin(),
                "Access-Control-Request-Method", "GET");
        assertEquals("true", header(credentials, "access-control-allow-credentials"));
    }

    /**
     * Served from the page origin; calls the gateway (another origin): a PUT with a custom header (so the browser
     * sends a preflight first) on the route with the policy, and a plain GET on a route without one.
     */
    static final String PAGE = """
            <html><body><pre id="out">pending</pre><script>
            async function call(label, url, init) {
              try {
                const r = await fetch(url, init);
                return label + ':' + r.status + ':' + (await r.text()) + ':' + r.headers.get('x-backend');
              } catch (e) {
                return label + ':blocked';
              }
            }
            (async () => {
              const api = await call('api', 'GATEWAY/api/items',
                  {method: 'PUT', headers: {'x-user': 'u1', 'content-type': 'application/json'}, body: '{}'});
              const closed = await call('closed', 'GATEWAY/other');
              document.getElementById('out').textContent = api + ' ' + closed;
            })();
            </script></body></html>
            """;

    @Test
    void aBrowserOnAnotherOriginCallsTheRouteWithThePolicyAndIsStoppedByOneWithout() throws Exception {
        int hits = web.hits.get();
        String dom = Chromium.run("--dump-dom", pageOrigin() + "/");
        Matcher m = Pattern.compile("<pre id=\"out\">([^<]*)</pre>").matcher(dom);
        assertTrue(m.find(), dom);
        // The preflight was answered by the gateway, the PUT reached the backend and its response (with the exposed
        // x-backend) was readable; the GET reached the backend too, but the browser withheld its response.
        assertEquals("api:200:web:web closed:blocked", m.group(1), dom);
        assertEquals(hits + 2, web.hits.get(), "the PUT and the GET, not the preflight");
    }
}
