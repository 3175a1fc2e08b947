package io.mesh.pilot.generator;

import static io.mesh.pilot.generator.RbacTest.filters;
import static io.mesh.pilot.generator.RbacTest.only;
import static io.mesh.pilot.generator.RbacTest.policy;
import static io.mesh.pilot.generator.RbacTest.principalAnd;
import static io.mesh.pilot.generator.RbacTest.tcpFilters;
import static io.mesh.pilot.generator.RbacTest.tcpPolicy;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.envoy.config.rbac.v3.Policy;
import io.envoyproxy.envoy.config.rbac.v3.Principal;
import io.envoyproxy.envoy.config.rbac.v3.RBAC;
import io.envoyproxy.envoy.type.matcher.v3.ListMatcher;
import io.envoyproxy.envoy.type.matcher.v3.MetadataMatcher;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.envoyproxy.envoy.type.matcher.v3.ValueMatcher;
import java.util.List;
import org.junit.jupiter.api.Test;

/** AuthorizationPolicy's JWT fields -> RBAC principals on istio_authn's filter metadata, in istiod's shapes. */
class JwtRbacTest {

    static Principal metadata(ValueMatcher value, String... path) {
        MetadataMatcher.Builder m = MetadataMatcher.newBuilder().setFilter("istio_authn").setValue(value);
        for (String k : path) {
            m.addPath(MetadataMatcher.PathSegment.newBuilder().setKey(k));
        }
        return Principal.newBuilder().setMetadata(m).build();
    }

    static ValueMatcher string(StringMatcher s) {
        return ValueMatcher.newBuilder().setStringMatch(s).build();
    }

    static ValueMatcher oneOf(StringMatcher s) {
        return ValueMatcher.newBuilder().setListMatch(ListMatcher.newBuilder().setOneOf(string(s))).build();
    }

    static StringMatcher exact(String v) {
        return StringMatcher.newBuilder().setExact(v).build();
    }

    static Principal or(Principal... ids) {
        return Principal.newBuilder().setOrIds(Principal.Set.newBuilder().addAllIds(List.of(ids))).build();
    }

    static Principal and(Principal... ids) {
        return Principal.newBuilder().setAndIds(Principal.Set.newBuilder().addAllIds(List.of(ids))).build();
    }

    @Test
    void requestPrincipalsMatchTheVerifiedPrincipalInEachOfIstiosForms() {
        Policy p = only(filters(policy("jwt", """
                rules:
                - from:
                  - source:
                      requestPrincipals: ["https://iss/alice", "https://iss/*", "*@corp", "*"]
                      notRequestPrincipals: ["https://iss/mallory"]""")).get("envoy.filters.http.rbac"));
        String key = "request.auth.principal";
        Principal expected = and(
                or(metadata(string(exact("https://iss/alice")), key),
                        metadata(string(StringMatcher.newBuilder().setPrefix("https://iss/").build()), key),
                        metadata(string(StringMatcher.newBuilder().setSuffix("@corp").build()), key),
                        metadata(string(StringMatcher.newBuilder().setSafeRegex(RegexMatcher.newBuilder()
                                .setRegex(".+")).build()), key)),
                Principal.newBuilder().setNotId(metadata(string(exact("https://iss/mallory")), key)).build());
        assertEquals(expected, principalAnd(p).get(0).getOrIds().getIds(0));
    }

    @Test
    void requestAuthConditionsMatchPrincipalAudiencesPresenterAndClaims() {
        Policy p = only(filters(policy("jwt", """
                rules:
                - when:
                  - {key: request.auth.principal, values: ["https://iss/alice"]}
                  - {key: request.auth.audiences, values: [shop, "api*"]}
                  - {key: request.auth.presenter, values: [web-app]}
                  - {key: "request.auth.claims[groups]", values: [admin], notValues: [banned]}""")).get(
                "envoy.filters.http.rbac"));
        List<Principal> ids = principalAnd(p);
        assertEquals(4, ids.size());
        assertEquals(and(metadata(string(exact("https://iss/alice")), "request.auth.principal")), ids.get(0));
        assertEquals(and(or(metadata(oneOf(exact("shop")), "request.auth.audiences"),
                metadata(oneOf(StringMatcher.newBuilder().setPrefix("api").build()), "request.auth.audiences"))),
                ids.get(1));
        assertEquals(and(metadata(string(exact("web-app")), "request.auth.presenter")), ids.get(2));
        assertEquals(and(metadata(oneOf(exact("admin")), "request.auth.claims", "groups"),
                Principal.newBuilder().setNotId(metadata(oneOf(exact("banned")), "request.auth.claims", "groups"))
                        .build()), ids.get(3));
    }

    @Test
    void onTcpAnAllowRuleWithJwtFieldsIsDroppedAndADenyLosesThem() {
        RBAC allow = tcpFilters(tcpPolicy("jwt-allow", """
                action: ALLOW
                rules:
                - from: [{source: {requestPrincipals: ["*"]}}]
                - when: [{key: "request.auth.claims[groups]", values: [admin]}]
                - from: [{source: {namespaces: [a]}}]""")).get("envoy.filters.network.rbac");
        assertEquals(java.util.Set.of("ns[demo]-policy[jwt-allow]-rule[2]"), allow.getPoliciesMap().keySet(),
                "rules on JWT fields never match a connection: dropped");

        RBAC deny = tcpFilters(tcpPolicy("jwt-deny", """
                action: DENY
                rules:
                - from: [{source: {namespaces: [x], notRequestPrincipals: ["*"]}}]
                  when: [{key: request.auth.audiences, values: [a]}]""")).get("envoy.filters.network.rbac.deny");
        Policy p = only(deny);
        assertTrue(!p.toString().contains("istio_authn"), p.toString());
        List<Principal> ids = principalAnd(p);
        assertEquals(1, ids.size(), "the audiences condition is gone, the namespace stays: denies more");
        assertTrue(ids.get(0).getOrIds().getIds(0).getAndIds().getIds(0).hasAuthenticated());
    }
}
