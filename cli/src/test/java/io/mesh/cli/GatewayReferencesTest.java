package io.mesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.mesh.config.VirtualService;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Which Gateway server hosts take a VirtualService's host, as istioctl's IST0132 check decides. */
class GatewayReferencesTest {

    /** Istio's host.Name.Matches, with the examples of its own documentation and the reverse of each. */
    @ParameterizedTest(name = "{0} and {1}: {2}")
    @CsvSource({
        "foo.com,     foo.com,     true",
        "foo.com,     bar.com,     false",
        "*.com,       foo.com,     true",
        "bar.com,     *.com,       true",
        "*.foo.com,   foo.com,     false",
        "*,           foo.com,     true",
        "*,           *.com,       true",
        "*.foo.com,   *.com,       true",
        "*.foo.com,   *.bar.com,   false",
        "a.foo.com,   b.foo.com,   false"})
    void wildcardHostsOverlapInEitherDirection(String a, String b, boolean overlap) {
        assertEquals(overlap, GatewayReferences.overlap(a, b));
        assertEquals(overlap, GatewayReferences.overlap(b, a));
    }

    /** A server host's namespace part against a VirtualService for shop.example.com in namespace "shop". */
    @ParameterizedTest(name = "{0} in {1}: {2}")
    @CsvSource({
        "shop.example.com,        istio-system, true",
        "*/shop.example.com,      istio-system, true",
        "*/*,                     istio-system, true",
        "shop/shop.example.com,   istio-system, true",
        "blog/shop.example.com,   istio-system, false",
        "./shop.example.com,      shop,         true",
        "./shop.example.com,      istio-system, false",
        "shop/*.example.com,      istio-system, true",
        "shop/www.example.com,    istio-system, false"})
    void theNamespacePartMustAllowTheVirtualServicesNamespace(String serverHost, String gatewayNamespace, boolean accepts) {
        VirtualService vs = new VirtualService("shop", "store", List.of("shop.example.com"), List.of("istio-system/edge"),
                List.of(), List.of(), List.of(), List.of(), Instant.EPOCH);
        assertEquals(accepts, GatewayReferences.acceptsAny(List.of(serverHost), gatewayNamespace, vs));
    }
}
