package io.mesh.gateway.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.type.matcher.v3.ListMatcher;
import io.envoyproxy.envoy.type.matcher.v3.MetadataMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.envoyproxy.envoy.type.matcher.v3.ValueMatcher;
import io.mesh.gateway.route.RouteTable;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Routes with {@code dynamic_metadata} matches in the shape istiod (and pilot) gives Istio's JWT claim routing
 * ({@code @request.auth.claims.*} headers): evaluated against the request's {@code istio_authn} metadata, where every
 * claim is a list of strings and nested claims are nested structs.
 */
class RouteClaimMatchTest {

    static MetadataRequest claims(Map<String, Object> claims) {
        return MetadataRequest.authn(Map.of("request.auth.principal", "iss/sub", "request.auth.claims", claims));
    }

    static MetadataMatcher claim(StringMatcher s, boolean invert, String... path) {
        MetadataMatcher.Builder m = MetadataMatcher.newBuilder().setFilter("istio_authn").setInvert(invert)
                .addPath(MetadataMatcher.PathSegment.newBuilder().setKey("request.auth.claims"));
        for (String k : path) {
            m.addPath(MetadataMatcher.PathSegment.newBuilder().setKey(k));
        }
        return m.setValue(ValueMatcher.newBuilder().setListMatch(ListMatcher.newBuilder().setOneOf(
                ValueMatcher.newBuilder().setStringMatch(s)))).build();
    }

    static Route route(String cluster, MetadataMatcher... metadata) {
        return Route.newBuilder().setName(cluster).setMatch(RouteMatch.newBuilder().setPrefix("/")
                .addAllDynamicMetadata(List.of(metadata))).setRoute(RouteAction.newBuilder().setCluster(cluster)).build();
    }

    static String routed(RouteTable t, MetadataRequest r) {
        io.mesh.gateway.route.Route m = t.virtualHost(r.authority()).match(r);
        return m == null ? null : m.name();
    }

    static RouteTable table(Route... routes) throws ConfigRejected {
        return RouteTranslator.translate(RouteConfiguration.newBuilder().setName("http.8080").addVirtualHosts(
                VirtualHost.newBuilder().setName("shop").addDomains("*").addAllRoutes(List.of(routes))).build());
    }

    static final StringMatcher GROUP1 = StringMatcher.newBuilder().setExact("group1").build();

    @Test
    void aTokenWhoseGroupsHoldTheValueTakesTheClaimRouteAndOthersTheNext() throws ConfigRejected {
        RouteTable t = table(route("a", claim(GROUP1, false, "groups")), route("b"));
        assertEquals("a", routed(t, claims(Map.of("groups", List.of("group2", "group1")))));
        assertEquals("b", routed(t, claims(Map.of("groups", List.of("group2")))));
        assertEquals("b", routed(t, claims(Map.of("sub", List.of("alice")))));
        assertEquals("b", routed(t, MetadataRequest.authn(null)));
    }

    @Test
    void nestedClaimsArePathsThroughNestedStructs() throws ConfigRejected {
        RouteTable t = table(route("a", claim(StringMatcher.newBuilder().setPrefix("adm").build(), false,
                "realm", "roles")), route("b"));
        assertEquals("a", routed(t, claims(Map.of("realm", Map.of("roles", List.of("viewer", "admin"))))));
        assertEquals("b", routed(t, claims(Map.of("realm", Map.of("roles", List.of("viewer"))))));
        assertEquals("b", routed(t, claims(Map.of("realm", List.of("admin")))));
    }

    @Test
    void everyMetadataMatchMustHoldAndAnInvertedOneHoldsWithoutAToken() throws ConfigRejected {
        MetadataMatcher notBanned = claim(StringMatcher.newBuilder().setExact("banned").build(), true, "groups");
        RouteTable t = table(route("a", claim(GROUP1, false, "groups"), notBanned), route("c", notBanned), route("b"));
        assertEquals("a", routed(t, claims(Map.of("groups", List.of("group1")))));
        assertEquals("b", routed(t, claims(Map.of("groups", List.of("group1", "banned")))));
        assertEquals("c", routed(t, claims(Map.of("groups", List.of("other")))));
        assertEquals("c", routed(t, MetadataRequest.authn(null)));
    }

    @Test
    void aMetadataMatchTheGatewayCannotEvaluateIsAcceptedAndItsRouteMatchesNothing() throws ConfigRejected {
        MetadataMatcher noFilter = claim(GROUP1, false, "groups").toBuilder().clearFilter().build();
        RouteTable t = table(route("a", noFilter), route("b"));
        assertEquals("b", routed(t, claims(Map.of("groups", List.of("group1")))));
    }
}
