package io.mesh.pilot.generator;

import static io.mesh.pilot.generator.SidecarFixtures.routes;
import static io.mesh.pilot.generator.SidecarFixtures.snapshot;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.protobuf.TextFormat;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.type.matcher.v3.MetadataMatcher;
import io.mesh.pilot.model.MeshSnapshot;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Istio's JWT claim based routing: a VirtualService header match named {@code @request.auth.claims.NAME} becomes a
 * route {@code match.dynamic_metadata} entry on the {@code istio_authn} metadata, as istiod writes it, and no header
 * matcher.
 */
class ClaimRouteTest {

    static String vs(String gateways, String match) {
        return HttpRouteTranslationTest.BASE + """
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: web, namespace: demo}
                spec:
                  hosts: [web.demo.svc.cluster.local, shop.example.com]
                  gateways: %s
                  http:
                  - name: group1
                    match:
                    - %s
                    route: [{destination: {host: audit.demo.svc.cluster.local}}]
                  - name: default
                    route: [{destination: {host: web.demo.svc.cluster.local}}]
                """.formatted(gateways, match);
    }

    static MetadataMatcher matcher(String text) throws TextFormat.ParseException {
        return TextFormat.parse(text, MetadataMatcher.class);
    }

    static Route first(VirtualHost vh) {
        return vh.getRoutes(0);
    }

    static VirtualHost shop(MeshSnapshot s) {
        var rc = routes(GeneratorGoldenTest.router(), s, "http.8080");
        return rc.getVirtualHostsList().stream().filter(vh -> vh.getDomainsList().contains("shop.example.com")).findFirst()
                .orElseThrow(() -> new AssertionError(rc.getVirtualHostsList().stream().map(VirtualHost::getName).toList()));
    }

    @Test
    void aClaimMatchOnAGatewayIsAListMatchOnTheIstioAuthnClaimsAndNoHeader() throws Exception {
        Route r = first(shop(snapshot(vs("[istio-system/public]",
                "headers: {\"@request.auth.claims.groups\": {exact: group1}, x-canary: {exact: \"yes\"}}"))));
        assertEquals(List.of(matcher("""
                filter: "istio_authn"
                path { key: "request.auth.claims" }
                path { key: "groups" }
                value { list_match { one_of { string_match { exact: "group1" } } } }
                """)), r.getMatch().getDynamicMetadataList());
        assertEquals(List.of("x-canary"), r.getMatch().getHeadersList().stream().map(h -> h.getName()).toList());
    }

    @Test
    void nestedClaimsPrefixRegexAndWithoutHeadersFollowIstiod() throws Exception {
        Route r = first(shop(snapshot(vs("[istio-system/public]", "{headers: {\"@request.auth.claims.realm.roles\":"
                + " {prefix: adm}, \"@request.auth.claims[org][Team]\": {regex: \"core-.*\"}},"
                + " withoutHeaders: {\"@request.auth.claims.groups\": {exact: banned}}}"))));
        assertEquals(List.of(matcher("""
                filter: "istio_authn"
                path { key: "request.auth.claims" }
                path { key: "realm" }
                path { key: "roles" }
                value { list_match { one_of { string_match { prefix: "adm" } } } }
                """), matcher("""
                filter: "istio_authn"
                path { key: "request.auth.claims" }
                path { key: "org" }
                path { key: "Team" }
                value { list_match { one_of { string_match { safe_regex { regex: "core-.*" } } } } }
                """), matcher("""
                filter: "istio_authn"
                path { key: "request.auth.claims" }
                path { key: "groups" }
                value { list_match { one_of { string_match { exact: "banned" } } } }
                invert: true
                """)), r.getMatch().getDynamicMetadataList());
        assertEquals(0, r.getMatch().getHeadersCount());
    }

    @Test
    void aVirtualServiceForTheMeshAndAGatewayGivesSidecarsTheSameMatchAsIstiodDoes() throws Exception {
        MeshSnapshot s = snapshot(vs("[mesh, istio-system/public]",
                "headers: {\"@request.auth.claims.groups\": {exact: group1}}"));
        VirtualHost web = HttpRouteTranslationTest.web(SidecarFixtures.sidecar("10.1.0.9", "demo"), s);
        assertEquals(List.of("group1", "default"), HttpRouteTranslationTest.names(web));
        assertEquals(first(shop(s)).getMatch(), first(web).getMatch());
    }

    @Test
    void aProxylessClientWhichVerifiesNoJwtLeavesOutClaimMatchesThatCannotHold() {
        MeshSnapshot s = snapshot(vs("[mesh, istio-system/public]",
                "headers: {\"@request.auth.claims.groups\": {exact: group1}}"));
        VirtualHost grpc = routes(SidecarFixtures.grpc(), s, "web.demo.svc.cluster.local:80").getVirtualHosts(0);
        assertEquals(List.of("default"), HttpRouteTranslationTest.names(grpc));
        // An inverted claim condition always holds there: the match stays, without it.
        s = snapshot(vs("[mesh, istio-system/public]", "withoutHeaders: {\"@request.auth.claims.groups\": {exact: x}}"));
        grpc = routes(SidecarFixtures.grpc(), s, "web.demo.svc.cluster.local:80").getVirtualHosts(0);
        assertEquals(List.of("group1", "default"), HttpRouteTranslationTest.names(grpc));
        assertEquals(0, first(grpc).getMatch().getDynamicMetadataCount());
    }
}
