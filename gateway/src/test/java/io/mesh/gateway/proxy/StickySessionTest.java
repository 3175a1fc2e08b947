package io.mesh.gateway.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.mesh.gateway.route.StatefulSession;
import io.vertx.core.MultiMap;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/** The cookie and header codecs and the cookie path matching of {@link StickySession}, as Envoy's. */
class StickySessionTest {

    @ParameterizedTest(name = "cookie path {0}, request {1}: {2}")
    @CsvSource({
        "'', /anything, true",
        "/, /anything, true",
        "/api/, /api/x, true",
        "/api/, /api, false",
        "/api, /api, true",
        "/api, /api/x, true",
        "/api, /api?q=1, true",
        "/api, /apiary, false",
        "/api, /other, false",
    })
    void aCookieAppliesToThePathsItsPathCoversAsInEnvoy(String cookiePath, String path, boolean applies) {
        assertEquals(applies, StickySession.pathMatches(cookiePath, path));
    }

    @Test
    void aCookieValueRoundTripsAndExpiresOnTheMonotonicClock() {
        String forever = StickySession.encodeCookie("10.1.0.1:8080", 0, 1000);
        assertEquals("10.1.0.1:8080", StickySession.cookieAddress(forever, Long.MAX_VALUE));
        String twoMinutes = StickySession.encodeCookie("10.1.0.1:8080", 120, 1000);
        assertEquals("10.1.0.1:8080", StickySession.cookieAddress(twoMinutes, 1120));
        assertNull(StickySession.cookieAddress(twoMinutes, 1121), "past its expiry it names nothing");
        // Envoy's older format, the address itself, is still read.
        assertEquals("10.1.0.10:8080", StickySession.cookieAddress(java.util.Base64.getEncoder()
                .encodeToString("10.1.0.10:8080".getBytes(java.nio.charset.StandardCharsets.UTF_8)), 0));
        assertNull(StickySession.cookieAddress("%%%", 0));
        assertNull(StickySession.cookieAddress("", 0));
    }

    @Test
    void theSetCookieIsEnvoys() {
        assertEquals("s=\"v\"; Path=/; HttpOnly", StickySession.setCookie(new StatefulSession.Cookie("s", "/", 0), "v"));
        assertEquals("s=\"v\"; Max-Age=120; Path=/api; HttpOnly",
                StickySession.setCookie(new StatefulSession.Cookie("s", "/api", 120), "v"));
        assertEquals("s=\"v\"; HttpOnly", StickySession.setCookie(new StatefulSession.Cookie("s", "", 0), "v"));
    }

    @Test
    void theCookieIsFoundAmongOthersQuotedOrNot() {
        MultiMap h = MultiMap.caseInsensitiveMultiMap().add("cookie", "a=1; sticky=\"abc=\"; b=2").add("cookie", "c=3");
        assertEquals("abc=", StickySession.cookie(h, "sticky"));
        assertEquals("3", StickySession.cookie(h, "c"));
        assertNull(StickySession.cookie(h, "stick"));
    }

    @Test
    void aResponseNamesTheEndpointUsedOnlyWhenItChanged() {
        StatefulSession header = new StatefulSession(new StatefulSession.Header("x-session"), false, false);
        String a = java.util.Base64.getEncoder().encodeToString("10.1.0.1:80".getBytes());
        StickySession same = StickySession.of(header, MultiMap.caseInsensitiveMultiMap().add("x-session", a), "/");
        MultiMap out = MultiMap.caseInsensitiveMultiMap();
        same.onResponse(out, "10.1.0.1:80");
        assertNull(out.get("x-session"));
        same.onResponse(out, "10.1.0.2:80");
        assertEquals("10.1.0.2:80", new String(java.util.Base64.getDecoder().decode(out.get("x-session"))));
        StatefulSession cookie = new StatefulSession(new StatefulSession.Cookie("s", "/api", 0), false, false);
        assertNull(StickySession.of(cookie, MultiMap.caseInsensitiveMultiMap(), "/other"), "not under its path: none");
    }
}
