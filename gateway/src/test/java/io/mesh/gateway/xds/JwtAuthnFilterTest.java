package io.mesh.gateway.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Empty;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtClaimToHeader;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtHeader;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtProvider;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtRequirement;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtRequirementAndList;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtRequirementOrList;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.ProviderWithAudiences;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.RequirementRule;
import io.mesh.gateway.jwt.JwtAuthn;
import io.mesh.gateway.jwt.JwtStatus;
import io.mesh.gateway.jwt.TestRequest;
import io.mesh.gateway.jwt.TestTokens;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The jwt_authn filter as pilot (like istiod) configures it, run on requests: which pass, which fail with which of
 * Envoy's statuses, and what a verified token changes in the request.
 */
class JwtAuthnFilterTest {

    static final String ISS_A = "https://a.example";
    static final String ISS_B = "https://b.example";
    static TestTokens.Key keyA;
    static TestTokens.Key keyB;

    @BeforeAll
    static void keys() throws Exception {
        keyA = TestTokens.rsa("a-1");
        keyB = TestTokens.ec("b-1", "P-256");
    }

    static JwtProvider.Builder provider(String iss, TestTokens.Key key) {
        return JwtProvider.newBuilder().setIssuer(iss).setForward(true)
                .setLocalJwks(DataSource.newBuilder().setInlineString(TestTokens.jwks(key)));
    }

    static JwtRequirement name(String provider) {
        return JwtRequirement.newBuilder().setProviderName(provider).build();
    }

    static final JwtRequirement ALLOW_MISSING = JwtRequirement.newBuilder().setAllowMissing(Empty.getDefaultInstance()).build();

    /** istiod's shape: one rule for "/", requires_any of each provider and allow_missing; CORS preflights bypass. */
    static JwtAuthentication istiod(JwtProvider.Builder a, JwtProvider.Builder b) {
        return rule(JwtRequirement.newBuilder().setRequiresAny(JwtRequirementOrList.newBuilder()
                .addRequirements(name("origins-0")).addRequirements(name("origins-1")).addRequirements(ALLOW_MISSING)).build(), a, b);
    }

    static JwtAuthentication rule(JwtRequirement requires, JwtProvider.Builder a, JwtProvider.Builder b) {
        return JwtAuthentication.newBuilder().putProviders("origins-0", a.build()).putProviders("origins-1", b.build())
                .addRules(RequirementRule.newBuilder().setMatch(RouteMatch.newBuilder().setPrefix("/")).setRequires(requires))
                .setBypassCorsPreflight(true).build();
    }

    static JwtAuthn filter(JwtAuthentication c) throws ConfigRejected {
        return JwtAuthnTranslator.translate(c, "test");
    }

    static JwtAuthn.Outcome run(JwtAuthn f, TestRequest r) {
        return f.authenticate(r, TestTokens.now());
    }

    static String bearer(String token) {
        return "Bearer " + token;
    }

    @Test
    void istiodsShapePassesNoTokenRefusesABadOneAndRecordsAGoodOne() throws Exception {
        JwtAuthn f = filter(istiod(provider(ISS_A, keyA), provider(ISS_B, keyB)));
        JwtAuthn.Outcome none = run(f, new TestRequest("GET", "/x"));
        assertEquals(JwtStatus.OK, none.status());
        assertTrue(none.verified().isEmpty());

        String expired = TestTokens.sign(keyA, "RS256", TestTokens.claims(ISS_A, "alice").put("exp", TestTokens.now() - 3600));
        assertEquals(JwtStatus.EXPIRED, run(f, new TestRequest("GET", "/x", "authorization", bearer(expired))).status());
        String forged = TestTokens.sign(TestTokens.rsa("a-1"), "RS256", TestTokens.claims(ISS_A, "alice"));
        assertEquals(JwtStatus.VERIFICATION_FAILED, run(f, new TestRequest("GET", "/x", "authorization", bearer(forged))).status());
        String stranger = TestTokens.sign(keyA, "RS256", TestTokens.claims("https://evil.example", "alice"));
        assertEquals(JwtStatus.UNKNOWN_ISSUER, run(f, new TestRequest("GET", "/x", "authorization", bearer(stranger))).status());
        assertEquals(JwtStatus.BAD_FORMAT, run(f, new TestRequest("GET", "/x", "authorization", "Bearer nonsense")).status());

        String good = TestTokens.sign(keyB, "ES256", TestTokens.claims(ISS_B, "bob"));
        JwtAuthn.Outcome ok = run(f, new TestRequest("GET", "/x", "authorization", bearer(good)));
        assertEquals(JwtStatus.OK, ok.status());
        assertEquals("origins-1", ok.verified().get(0).provider().name());
        assertEquals("bob", ok.verified().get(0).jwt().sub());
    }

    @Test
    void audiencesMustNameOneTheProviderAllowsElse403() throws Exception {
        JwtAuthn f = filter(istiod(provider(ISS_A, keyA).addAudiences("https://api.example/"), provider(ISS_B, keyB)));
        String wrong = TestTokens.sign(keyA, "RS256", TestTokens.claims(ISS_A, "a").put("aud", "other"));
        JwtAuthn.Outcome o = run(f, new TestRequest("GET", "/", "authorization", bearer(wrong)));
        assertEquals(JwtStatus.AUDIENCE_NOT_ALLOWED, o.status());
        assertEquals(403, o.status().httpStatus());
        assertEquals("Audiences in Jwt are not allowed", o.status().text());
        String listed = TestTokens.sign(keyA, "RS256", TestTokens.claims(ISS_A, "a")
                .put("aud", new JsonArray().add("x").add("api.example")));
        assertEquals(JwtStatus.OK, run(f, new TestRequest("GET", "/", "authorization", bearer(listed))).status(),
                "one listed audience is enough; scheme and trailing slash do not count");
        String noAud = TestTokens.sign(keyB, "ES256", TestTokens.claims(ISS_B, "b"));
        assertEquals(JwtStatus.OK, run(f, new TestRequest("GET", "/", "authorization", bearer(noAud))).status(),
                "a provider without audiences takes any");
    }

    @Test
    void requiresAllNeedsEveryProviderAndProviderAndAudiencesOverridesTheProvidersOwn() throws Exception {
        String a = TestTokens.sign(keyA, "RS256", TestTokens.claims(ISS_A, "a").put("aud", "special"));
        String b = TestTokens.sign(keyB, "ES256", TestTokens.claims(ISS_B, "b"));
        JwtRequirement all = JwtRequirement.newBuilder().setRequiresAll(JwtRequirementAndList.newBuilder()
                .addRequirements(JwtRequirement.newBuilder().setProviderAndAudiences(ProviderWithAudiences.newBuilder()
                        .setProviderName("origins-0").addAudiences("special")))
                .addRequirements(name("origins-1"))).build();
        JwtAuthn f = filter(rule(all, provider(ISS_A, keyA).addAudiences("ordinary"),
                provider(ISS_B, keyB).addFromHeaders(JwtHeader.newBuilder().setName("x-b-token"))));
        assertEquals(JwtStatus.MISSING, run(f, new TestRequest("GET", "/", "authorization", bearer(a))).status());
        JwtAuthn.Outcome both = run(f, new TestRequest("GET", "/", "authorization", bearer(a), "x-b-token", b));
        assertEquals(JwtStatus.OK, both.status());
        assertEquals(2, both.verified().size());
    }

    @Test
    void allowMissingOrFailedLetsABadTokenThroughAndStillRecordsAGoodOne() throws Exception {
        JwtRequirement any = JwtRequirement.newBuilder().setRequiresAny(JwtRequirementOrList.newBuilder()
                .addRequirements(name("origins-0")).addRequirements(JwtRequirement.newBuilder()
                        .setAllowMissingOrFailed(Empty.getDefaultInstance()))).build();
        JwtAuthn f = filter(rule(any, provider(ISS_A, keyA), provider(ISS_B, keyB)));
        String expired = TestTokens.sign(keyA, "RS256", TestTokens.claims(ISS_A, "a").put("exp", 1000));
        assertEquals(JwtStatus.OK, run(f, new TestRequest("GET", "/", "authorization", bearer(expired))).status());
        JwtAuthn.Outcome good = run(f, new TestRequest("GET", "/", "authorization",
                bearer(TestTokens.sign(keyA, "RS256", TestTokens.claims(ISS_A, "a")))));
        assertEquals(1, good.verified().size());
    }

    @Test
    void aGoodTokenNextToABadOneFails() throws Exception {
        JwtAuthn f = filter(istiod(provider(ISS_A, keyA), provider(ISS_B, keyB)));
        String good = TestTokens.sign(keyA, "RS256", TestTokens.claims(ISS_A, "a"));
        String bad = TestTokens.sign(keyA, "RS256", TestTokens.claims(ISS_A, "a").put("exp", 1000));
        assertEquals(JwtStatus.EXPIRED, run(f, new TestRequest("GET", "/?access_token=" + bad, "authorization", bearer(good))).status());
    }

    @Test
    void aVerifiedTokenAddsClaimAndPayloadHeadersAndIsRemovedWhenNotForwarded() throws Exception {
        JwtProvider.Builder a = provider(ISS_A, keyA).setForward(false).setForwardPayloadHeader("x-jwt-payload")
                .setPayloadInMetadata(ISS_A)
                .addClaimToHeaders(JwtClaimToHeader.newBuilder().setHeaderName("x-jwt-sub").setClaimName("sub"))
                .addClaimToHeaders(JwtClaimToHeader.newBuilder().setHeaderName("x-jwt-level").setClaimName("level"))
                .addClaimToHeaders(JwtClaimToHeader.newBuilder().setHeaderName("x-jwt-admin").setClaimName("admin"))
                .addClaimToHeaders(JwtClaimToHeader.newBuilder().setHeaderName("x-jwt-groups").setClaimName("groups"))
                .addClaimToHeaders(JwtClaimToHeader.newBuilder().setHeaderName("x-jwt-team").setClaimName("org.team"));
        JwtAuthn f = filter(istiod(a, provider(ISS_B, keyB)));
        JsonObject claims = TestTokens.claims(ISS_A, "alice").put("level", 3).put("admin", true)
                .put("groups", new JsonArray().add("dev")).put("org", new JsonObject().put("team", "blue"));
        String token = TestTokens.sign(keyA, "RS256", claims);
        TestRequest r = new TestRequest("GET", "/", "authorization", bearer(token), "x-jwt-sub", "mallory");
        JwtAuthn.Outcome o = run(f, r);
        assertEquals(JwtStatus.OK, o.status());
        assertNull(r.header("authorization"), "forward: false removes the token");
        assertEquals(List.of("alice"), r.headerValues("x-jwt-sub"), "the client's own claim header is dropped first");
        assertEquals("3", r.header("x-jwt-level"));
        assertEquals("true", r.header("x-jwt-admin"));
        assertEquals("[\"dev\"]", new String(Base64.getDecoder().decode(r.header("x-jwt-groups"))));
        assertEquals("blue", r.header("x-jwt-team"));
        assertEquals(token.split("\\.")[1], r.header("x-jwt-payload"));
        assertTrue(o.metadata().containsKey(ISS_A), "payload_in_metadata");

        TestRequest spoofed = new TestRequest("GET", "/", "x-jwt-sub", "mallory", "x-jwt-payload", "e30");
        run(f, spoofed);
        assertNull(spoofed.header("x-jwt-sub"), "without a token, the headers only a token sets are removed too");
        assertNull(spoofed.header("x-jwt-payload"));
    }

    @Test
    void theAccessTokenQueryParameterIsReadAndRemovedWhenNotForwarded() throws Exception {
        JwtAuthn f = filter(istiod(provider(ISS_A, keyA).setForward(false), provider(ISS_B, keyB)));
        String token = TestTokens.sign(keyA, "RS256", TestTokens.claims(ISS_A, "a"));
        TestRequest r = new TestRequest("GET", "/items?page=2&access_token=" + token + "&sort=asc");
        assertEquals(1, run(f, r).verified().size());
        assertEquals("/items?page=2&sort=asc", r.uri);
    }

    @Test
    void configuredHeadersPrefixesAndCookiesAreWhereTokensAreRead() throws Exception {
        JwtProvider.Builder a = provider(ISS_A, keyA).addFromHeaders(JwtHeader.newBuilder().setName("x-auth")
                .setValuePrefix("Token ")).addFromCookies("session");
        JwtAuthn f = filter(istiod(a, provider(ISS_B, keyB)));
        String token = TestTokens.sign(keyA, "RS256", TestTokens.claims(ISS_A, "a"));
        assertEquals(1, run(f, new TestRequest("GET", "/", "x-auth", "Token " + token)).verified().size());
        assertEquals(1, run(f, new TestRequest("GET", "/", "cookie", "theme=dark; session=" + token)).verified().size());
        assertTrue(run(f, new TestRequest("GET", "/", "authorization", bearer(token))).verified().isEmpty(),
                "a provider with its own locations no longer reads Authorization (and the other provider refuses this issuer"
                        + " there: unknown issuer)");
    }

    @Test
    void aCorsPreflightIsNotCheckedButOtherOptionsRequestsAre() throws Exception {
        JwtAuthn f = filter(istiod(provider(ISS_A, keyA), provider(ISS_B, keyB)));
        assertEquals(JwtStatus.OK, run(f, new TestRequest("OPTIONS", "/", "origin", "https://app.example",
                "access-control-request-method", "POST", "authorization", "Bearer x.y.z")).status());
        assertEquals(JwtStatus.BAD_FORMAT, run(f, new TestRequest("OPTIONS", "/", "origin", "https://app.example",
                "authorization", "Bearer abc")).status());
        JwtAuthn strict = filter(istiod(provider(ISS_A, keyA), provider(ISS_B, keyB)).toBuilder().setBypassCorsPreflight(false).build());
        assertEquals(JwtStatus.BAD_FORMAT, run(strict, new TestRequest("OPTIONS", "/", "origin", "https://app.example",
                "access-control-request-method", "POST", "authorization", "Bearer abc")).status());
    }

    @Test
    void onlyRequestsARuleMatchesAreChecked() throws Exception {
        JwtAuthentication c = JwtAuthentication.newBuilder().putProviders("origins-0", provider(ISS_A, keyA).build())
                .addRules(RequirementRule.newBuilder().setMatch(RouteMatch.newBuilder().setPrefix("/api"))
                        .setRequires(name("origins-0"))).build();
        JwtAuthn f = filter(c);
        assertEquals(JwtStatus.MISSING, run(f, new TestRequest("GET", "/api/items")).status());
        assertEquals("Jwt is missing", JwtStatus.MISSING.text());
        assertEquals(JwtStatus.OK, run(f, new TestRequest("GET", "/public", "authorization", "Bearer junk")).status());
    }

    @Test
    void unsupportedConfigIsRejectedWithWhatIsWrong() {
        JwtProvider.Builder remote = JwtProvider.newBuilder().setIssuer(ISS_A).setRemoteJwks(
                io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.RemoteJwks.newBuilder().setHttpUri(
                        io.envoyproxy.envoy.config.core.v3.HttpUri.newBuilder().setUri("https://a.example/jwks").setCluster("x")));
        assertTrue(rejected(istiod(remote, provider(ISS_B, keyB))).contains("remote_jwks is not supported"));
        JwtProvider.Builder notJson = JwtProvider.newBuilder().setIssuer(ISS_A)
                .setLocalJwks(DataSource.newBuilder().setInlineString("<html>keys</html>"));
        assertTrue(rejected(istiod(notJson, provider(ISS_B, keyB))).contains("local_jwks: Jwks is an invalid JSON"));
        JwtAuthentication unknown = JwtAuthentication.newBuilder().putProviders("p", provider(ISS_A, keyA).build())
                .addRules(RequirementRule.newBuilder().setMatch(RouteMatch.newBuilder().setPrefix("/")).setRequires(name("q"))).build();
        assertTrue(rejected(unknown).contains("Required provider ['q'] is not configured."));
        assertTrue(rejected(istiod(provider(ISS_A, keyA).setRequireExpiration(true), provider(ISS_B, keyB)))
                .contains("require_expiration"));
    }

    static String rejected(JwtAuthentication c) {
        try {
            filter(c);
        } catch (ConfigRejected e) {
            return e.getMessage();
        }
        throw new AssertionError("accepted: " + c);
    }

    @Test
    void aJwksWithoutUsableKeysIsAcceptedAndFailsItsTokens() throws Exception {
        JwtProvider.Builder oct = JwtProvider.newBuilder().setIssuer(ISS_A).setLocalJwks(DataSource.newBuilder()
                .setInlineString("{\"keys\":[{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"}]}"));
        JwtAuthn f = filter(istiod(oct, provider(ISS_B, keyB)));
        String token = TestTokens.sign(keyA, "RS256", TestTokens.claims(ISS_A, "a"));
        JwtAuthn.Outcome o = run(f, new TestRequest("GET", "/", "authorization", bearer(token)));
        assertEquals(JwtStatus.JWKS_NO_VALID_KEYS, o.status());
        assertFalse(o.status() == JwtStatus.OK);
    }
}
