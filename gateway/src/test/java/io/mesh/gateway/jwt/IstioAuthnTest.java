package io.mesh.gateway.jwt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Istio's request.auth.* attributes from a verified token's payload, as Istio's authn filter stores them. */
class IstioAuthnTest {

    @Test
    void everyClaimIsAListOfStringsAndThePrincipalIsIssuerSlashSubject() {
        JsonObject payload = new JsonObject().put("iss", "https://issuer.example").put("sub", "alice")
                .put("aud", new JsonArray().add("web").add("api")).put("azp", "frontend")
                .put("groups", new JsonArray().add("dev").add("admin")).put("scope", "read write")
                .put("email", "a@example.com").put("exp", 1900000000).put("email_verified", true)
                .put("mixed", new JsonArray().add("x").add(1))
                .put("nested", new JsonObject().put("team", "blue").put("level", new JsonObject().put("tier", "gold")));
        Map<String, Object> a = IstioAuthn.attributes(payload);
        assertEquals("https://issuer.example/alice", a.get("request.auth.principal"));
        assertEquals(List.of("web", "api"), a.get("request.auth.audiences"));
        assertEquals("frontend", a.get("request.auth.presenter"));
        @SuppressWarnings("unchecked")
        Map<String, Object> claims = (Map<String, Object>) a.get("request.auth.claims");
        assertEquals(List.of("alice"), claims.get("sub"));
        assertEquals(List.of("dev", "admin"), claims.get("groups"));
        assertEquals(List.of("read", "write"), claims.get("scope"), "a string is split at spaces, as Istio does");
        assertEquals(List.of("a@example.com"), claims.get("email"));
        assertFalse(claims.containsKey("exp"), "numbers are left out, as Istio does");
        assertFalse(claims.containsKey("email_verified"));
        assertFalse(claims.containsKey("mixed"));
        assertEquals(Map.of("team", List.of("blue"), "level", Map.of("tier", List.of("gold"))), claims.get("nested"),
                "objects are nested structs of lists");
    }

    @Test
    void aTokenWithoutSubjectHasNoPrincipal() {
        Map<String, Object> a = IstioAuthn.attributes(new JsonObject().put("iss", "i").put("aud", "one"));
        assertNull(a.get("request.auth.principal"));
        assertEquals(List.of("one"), a.get("request.auth.audiences"));
    }
}
