package io.mesh.gateway.route;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RouteTableTest {

    static VirtualHost vh(String name, String... domains) {
        return new VirtualHost(name, List.of(domains), List.of(), false, HeaderMutation.NONE, HeaderMutation.NONE);
    }

    static final RouteTable TABLE = new RouteTable("t", List.of(vh("exact", "shop.example.com"),
            vh("suffix", "*.example.com"), vh("longer-suffix", "*.api.example.com"), vh("prefix", "shop.*"),
            vh("with-port", "admin.example.org:8080"), vh("any", "*")), HeaderMutation.NONE, HeaderMutation.NONE);

    // As in Envoy, the authority is matched with its port first: "shop.*" matches "shop.example.com:8080".
    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({
        "shop.example.com, exact",
        "SHOP.example.com, exact",
        "shop.example.com:8080, prefix",
        "a.example.com, suffix",
        "v1.api.example.com, longer-suffix",
        "shop.other, prefix",
        "admin.example.org:8080, with-port",
        "admin.example.org, any",
        "unknown.net, any",
    })
    void virtualHostsAreChosenInEnvoysDomainOrder(String authority, String expected) {
        assertEquals(expected, TABLE.virtualHost(authority).name());
    }

    @ParameterizedTest(name = "{0} {1} -> {2}")
    @CsvSource({
        "PREFIX, /api, /api/v1, true",
        "PREFIX, /api, /apix, true",
        "SEPARATED_PREFIX, /api, /apix, false",
        "SEPARATED_PREFIX, /api, /api/x, true",
        "SEPARATED_PREFIX, /api, /api, true",
        "EXACT, /login, /login, true",
        "EXACT, /login, /login/, false",
        "REGEX, /items/[0-9]+, /items/42, true",
        "REGEX, /items/[0-9]+, /items/42/x, false",
    })
    void pathMatchesFollowEnvoysSemantics(PathMatch.Kind kind, String value, String path, boolean matches) {
        PathMatch m = new PathMatch(kind, value, kind == PathMatch.Kind.REGEX ? java.util.regex.Pattern.compile(value) : null, true);
        assertEquals(matches, m.matches(path));
    }

    @org.junit.jupiter.api.Test
    void aTableWithoutWildcardHasNoHostForUnknownAuthorities() {
        RouteTable t = new RouteTable("t", List.of(vh("only", "a.example")), HeaderMutation.NONE, HeaderMutation.NONE);
        assertNull(t.virtualHost("b.example"));
    }
}
