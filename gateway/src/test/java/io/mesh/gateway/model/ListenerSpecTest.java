package io.mesh.gateway.model;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A listener's filter chain for an SNI name, as Envoy's filter_chain_match picks it: the most specific matching
 * server name whatever the chains' order, then a chain without server names. A router's HTTPS listener with a
 * wildcard server listed before a specific one (Gateway servers {@code *.shop.example} then {@code api.shop.example})
 * and a passthrough listener whose wildcard tls route comes first both rely on it.
 */
class ListenerSpecTest {

    private static FilterChainSpec chain(String... serverNames) {
        return new FilterChainSpec(List.of(serverNames), "kubernetes://" + String.join(",", serverNames), "https.443", null,
                List.of());
    }

    private static ListenerSpec listener(FilterChainSpec... chains) {
        return new ListenerSpec("0.0.0.0_443", "0.0.0.0", 443, List.of(chains));
    }

    @Test
    void theExactNameWinsOverAWildcardListedBeforeIt() {
        FilterChainSpec wildcard = chain("*.shop.example");
        FilterChainSpec api = chain("api.shop.example");
        ListenerSpec l = listener(wildcard, api);
        assertSame(api, l.chainFor("api.shop.example"));
        assertSame(api, l.chainFor("API.Shop.Example"), "server names compare without case");
        assertSame(wildcard, l.chainFor("www.shop.example"));
        assertSame(wildcard, l.chainFor("a.b.shop.example"), "a wildcard covers any depth of labels, as in Envoy");
    }

    @Test
    void aLongerWildcardWinsOverAShorterOneAndABareDomainIsNotUnderItsWildcard() {
        FilterChainSpec broad = chain("*.example");
        FilterChainSpec narrow = chain("*.shop.example");
        ListenerSpec l = listener(broad, narrow);
        assertSame(narrow, l.chainFor("www.shop.example"));
        assertSame(broad, l.chainFor("www.other.example"));
        assertSame(broad, l.chainFor("shop.example"), "shop.example is under *.example, not under *.shop.example");
        assertNull(l.chainFor("example"), "no chain serves the bare domain and none is nameless");
    }

    @Test
    void aChainWithoutServerNamesTakesWhatNoNameMatchesAndNoSni() {
        FilterChainSpec any = chain();
        FilterChainSpec api = chain("api.shop.example");
        ListenerSpec l = listener(any, api);
        assertSame(api, l.chainFor("api.shop.example"), "a named match beats the nameless chain listed first");
        assertSame(any, l.chainFor("other.example"));
        assertSame(any, l.chainFor(null));
        assertNull(listener(api).chainFor(null), "no SNI and no nameless chain: none");
        assertNull(listener(api).chainFor("other.example"));
    }

    @Test
    void oneChainWithSeveralNamesIsPickedByItsMostSpecificOne() {
        FilterChainSpec wildcard = chain("*.shop.example");
        FilterChainSpec both = chain("*.example", "api.shop.example");
        ListenerSpec l = listener(wildcard, both);
        assertSame(both, l.chainFor("api.shop.example"));
        assertSame(wildcard, l.chainFor("www.shop.example"));
    }
}
