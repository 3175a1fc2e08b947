package io.mesh.gateway.xds;

import static io.mesh.gateway.xds.JwtAuthnFilterTest.ISS_A;
import static io.mesh.gateway.xds.JwtAuthnFilterTest.bearer;
import static io.mesh.gateway.xds.JwtAuthnFilterTest.filter;
import static io.mesh.gateway.xds.JwtAuthnFilterTest.provider;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtCacheConfig;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtProvider;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtRequirement;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.RequirementRule;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.mesh.gateway.jwt.Jwt;
import io.mesh.gateway.jwt.JwtAuthn;
import io.mesh.gateway.jwt.JwtStatus;
import io.mesh.gateway.jwt.TestRequest;
import io.mesh.gateway.jwt.TestTokens;
import io.mesh.gateway.jwt.VerifiedTokens;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The provider's cache of verified tokens (Envoy's jwt_cache_config): a token's signature is verified once per key
 * set, while its times and audiences are still checked on every request, and only tokens the keys verified get in.
 */
class JwtCacheTest {
    static TestTokens.Key key;

    @BeforeAll
    static void keys() throws Exception {
        key = TestTokens.rsa("a-1");
    }

    static JwtAuthn one(JwtProvider.Builder p) throws Exception {
        return filter(JwtAuthentication.newBuilder().putProviders("a", p.build())
                .addRules(RequirementRule.newBuilder().setMatch(RouteMatch.newBuilder().setPrefix("/"))
                        .setRequires(JwtRequirement.newBuilder().setProviderName("a"))).build());
    }

    static JwtStatus run(JwtAuthn f, String token, long now) {
        return f.authenticate(new TestRequest("GET", "/", "authorization", bearer(token)), now).status();
    }

    @Test
    void aVerifiedTokenIsRememberedAndItsTimesAreStillCheckedOnEveryRequest() throws Exception {
        JwtAuthn f = one(provider(ISS_A, key));
        VerifiedTokens cache = f.providers().get(0).verified();
        String token = TestTokens.sign(key, "RS256", TestTokens.claims(ISS_A, "alice"));
        long now = TestTokens.now();
        assertEquals(JwtStatus.OK, run(f, token, now));
        assertEquals(1, cache.held());
        assertEquals(JwtStatus.OK, run(f, token, now));
        assertEquals(1, cache.held(), "the same token: held once");
        // An hour and more later the remembered token has expired: refused all the same.
        assertEquals(JwtStatus.EXPIRED, run(f, token, now + 3600 + 120));
    }

    @Test
    void aTokenIsTakenFromTheCacheWithoutBeingVerifiedAgain() throws Exception {
        JwtAuthn f = one(provider(ISS_A, key));
        String good = TestTokens.sign(key, "RS256", TestTokens.claims(ISS_A, "alice"));
        // What the cache holds for a token text is what the filter uses: planted here under a text no key verifies,
        // it is accepted (the real cache only ever holds what the provider's keys verified).
        String planted = good.substring(0, good.lastIndexOf('.') + 1) + "bm90LWEtc2lnbmF0dXJl";
        assertEquals(JwtStatus.VERIFICATION_FAILED, run(f, planted, TestTokens.now()));
        f.providers().get(0).verified().put(planted, Jwt.parse(good));
        assertEquals(JwtStatus.OK, run(f, planted, TestTokens.now()));
    }

    @Test
    void forgedTokensNeverGetInAndTheCacheIsBounded() throws Exception {
        TestTokens.Key stranger = TestTokens.rsa("a-1");
        JwtAuthn f = one(provider(ISS_A, key).setJwtCacheConfig(JwtCacheConfig.newBuilder().setJwtCacheSize(2)));
        VerifiedTokens cache = f.providers().get(0).verified();
        assertEquals(JwtStatus.VERIFICATION_FAILED,
                run(f, TestTokens.sign(stranger, "RS256", TestTokens.claims(ISS_A, "mallory")), TestTokens.now()));
        assertEquals(0, cache.held());
        for (String sub : new String[] {"a", "b", "c", "d", "e"}) {
            assertEquals(JwtStatus.OK, run(f, TestTokens.sign(key, "RS256", TestTokens.claims(ISS_A, sub)), TestTokens.now()));
            assertEquals(true, cache.held() <= 2, "jwt_cache_size 2: " + cache.held());
        }
        // New keys come with a new provider, and an empty cache.
        assertEquals(0, one(provider(ISS_A, key)).providers().get(0).verified().held());
    }
}
