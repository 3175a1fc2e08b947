package io.mesh.pilot.generator;

import static io.mesh.pilot.generator.GatewayApiRetryRouterTest.routerRoute;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.extensions.filters.http.cors.v3.CorsPolicy;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * An HTTPRoute's CORS filter reaches the router's route as the CORS policy istiod's conversion gives it: exact origins
 * as exact matches, "*" and wildcard hosts as regular expressions that match only well-formed origins, methods and
 * headers as lists, maxAge in seconds, credentials when allowed, and unmatched preflights not forwarded.
 */
class GatewayApiCorsRouterTest {

    static CorsPolicy cors(String filter) throws Exception {
        Route r = routerRoute("filters:\n- type: CORS\n  cors: " + filter);
        return r.getTypedPerFilterConfigOrThrow("envoy.filters.http.cors").unpack(CorsPolicy.class);
    }

    /** Whether one of the policy's origin matchers matches the origin, as Envoy's (full-match) matchers do. */
    static boolean allows(CorsPolicy p, String origin) {
        for (StringMatcher m : p.getAllowOriginStringMatchList()) {
            if (m.hasSafeRegex() ? Pattern.compile(m.getSafeRegex().getRegex()).matcher(origin).matches()
                    : m.getExact().equals(origin)) {
                return true;
            }
        }
        return false;
    }

    @Test
    void corsFilterBecomesTheRoutesCorsPolicy() throws Exception {
        CorsPolicy p = cors("{allowOrigins: [\"https://app.example.com\"], allowCredentials: true,"
                + " allowMethods: [GET, POST], allowHeaders: [x-token, content-type], exposeHeaders: [x-trace],"
                + " maxAge: 600}");
        assertEquals(List.of("https://app.example.com"), p.getAllowOriginStringMatchList().stream()
                .map(StringMatcher::getExact).toList());
        assertEquals("GET,POST", p.getAllowMethods());
        assertEquals("x-token,content-type", p.getAllowHeaders());
        assertEquals("x-trace", p.getExposeHeaders());
        assertEquals("600", p.getMaxAge());
        assertTrue(p.getAllowCredentials().getValue());
        assertFalse(p.getForwardNotMatchingPreflights().getValue(), "preflights from other origins stay at the router");
    }

    @Test
    void withoutMaxAgeOrCredentialsNeitherIsSent() throws Exception {
        CorsPolicy p = cors("{allowOrigins: [\"https://app.example.com\"]}");
        assertEquals("", p.getMaxAge());
        assertFalse(p.hasAllowCredentials());
    }

    @Test
    void wildcardHostMatchesSubdomainsOnly() throws Exception {
        CorsPolicy p = cors("{allowOrigins: [\"https://*.example.com\", \"http://localhost:3000\"]}");
        assertTrue(allows(p, "https://a.example.com"));
        assertTrue(allows(p, "https://a.b.example.com"));
        assertTrue(allows(p, "http://localhost:3000"));
        assertFalse(allows(p, "https://example.com"), "the wildcard stands for at least one label");
        assertFalse(allows(p, "https://a.example.com.evil.org"));
        assertFalse(allows(p, "https://aexample.com"), "the dot is literal");
        assertFalse(allows(p, "http://a.example.com"), "the scheme is part of the origin");
        assertFalse(allows(p, "http://localhost:3001"));
    }

    @Test
    void starMatchesAnyWellFormedOriginButNoPathOrQuery() throws Exception {
        CorsPolicy p = cors("{allowOrigins: [\"*\"]}");
        assertTrue(allows(p, "https://shop.example.com"));
        assertTrue(allows(p, "http://localhost:8080"));
        assertTrue(allows(p, "http://[::1]:8080"));
        assertFalse(allows(p, "https://shop.example.com/path"));
        assertFalse(allows(p, "https://shop.example.com?q=1"));
        assertFalse(allows(p, "null"));
    }
}
