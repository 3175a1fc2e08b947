package io.mesh.e2e;

import static io.mesh.e2e.IngressClients.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mesh.testing.FreePorts;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * JWT at the edge, as Istio's "Authorization for JWT" task sets it up, through the packaged pilot (local mode) and the
 * packaged gateway: a RequestAuthentication for the ingress gateway whose {@code jwksUri} is this test's issuer on
 * 127.0.0.1 (pilot fetches the JWKS and sends it inline, as istiod does) and a second rule that names no keys (pilot
 * finds them through the issuer's OpenID configuration), an AuthorizationPolicy that allows only requests
 * with a principal from that issuer, a DENY on a claim, and a route on a claim (Istio's JWT claim based routing). The
 * client is curl; the tokens are RS256, signed here.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class IngressJwtIT {

    @RegisterExtension
    static final ProcessHarness HARNESS = new ProcessHarness().named("ingress-jwt").keepBetweenTests();

    private static final int HTTP_PORT = FreePorts.next();
    private static final String ISSUER = "https://issuer.example";

    private static Path configDir;
    private static RunningComponent pilot;
    private static IngressBackends backends;
    private static JwtIssuer issuer;
    private static JwtIssuer otherIssuer;
    /** An issuer on 127.0.0.1 whose rule names no keys: pilot discovers them from its OpenID configuration. */
    private static JwtIssuer discovered;

    @BeforeAll
    static void startMesh() throws Exception {
        configDir = LocalMeshChecks.emptyConfigDir(HARNESS);
        backends = new IngressBackends(null);
        issuer = new JwtIssuer(ISSUER);
        otherIssuer = new JwtIssuer("https://other.example");
        discovered = new JwtIssuer(null);
        write("services.yaml", IngressConfig.serviceEntry("web", 80, "http", "HTTP", backends.http()));
        write("edge.yaml", LocalMeshChecks.edgeGateway(HTTP_PORT) + """
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: api, namespace: shop}
                spec:
                  hosts: [api.example]
                  gateways: [istio-system/edge]
                  http:
                  - match:
                    - headers:
                        "@request.auth.claims.groups": {exact: staff}
                    rewrite: {uri: /staff/}
                    route:
                    - destination: {host: web.shop.svc.cluster.local, port: {number: 80}}
                  - route:
                    - destination: {host: web.shop.svc.cluster.local, port: {number: 80}}
                """);
        write("jwt.yaml", """
                apiVersion: security.istio.io/v1
                kind: RequestAuthentication
                metadata: {name: jwt, namespace: istio-system}
                spec:
                  selector:
                    matchLabels: {istio: ingressgateway}
                  jwtRules:
                  - issuer: %s
                    jwksUri: %s
                    outputClaimToHeaders:
                    - {header: x-jwt-sub, claim: sub}
                  - issuer: %s
                """.formatted(ISSUER, issuer.jwksUri(), discovered.issuer));
        write("require-jwt.yaml", """
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: require-jwt, namespace: istio-system}
                spec:
                  selector:
                    matchLabels: {istio: ingressgateway}
                  action: ALLOW
                  rules:
                  - from:
                    - source:
                        requestPrincipals: ["%s/*", "%s/*"]
                ---
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: deny-banned, namespace: istio-system}
                spec:
                  selector:
                    matchLabels: {istio: ingressgateway}
                  action: DENY
                  rules:
                  - when:
                    - key: request.auth.claims[groups]
                      values: [banned]
                """.formatted(ISSUER, discovered.issuer));
        pilot = HARNESS.start(Component.PILOT, Map.of("MESH_PILOT_CONFIG_DIR", configDir.toString()));
        RunningComponent gateway = HARNESS.startRouter(pilot);
    }

    @AfterAll
    static void stop() {
        HARNESS.stopAll();
        for (AutoCloseable c : new AutoCloseable[] {backends, issuer, otherIssuer, discovered}) {
            try {
                if (c != null) {
                    c.close();
                }
            } catch (Exception ignored) {
                // best effort
            }
        }
    }

    @Test
    @Order(1)
    void onlyRequestsWithAValidTokenFromTheIssuerReachTheBackend() throws Exception {
        String alice = issuer.token("alice", 3600, Map.of("groups", List.of("staff")));
        // The JWKS arrives through pilot's fetch: wait for the first token to pass. alice is staff, so the route on
        // that claim takes her request (its "/" prefix rewritten to /staff/, as istiod's prefix_rewrite does: JWT claim
        // based routing).
        java.util.concurrent.atomic.AtomicReference<String> last = new java.util.concurrent.atomic.AtomicReference<>();
        try {
            await(() -> {
                last.set(curl("/orders", "-H", "authorization: Bearer " + alice));
                return last.get().equals("web GET /staff/orders sub=alice 200");
            }, "a valid token passes, its sub claim copied to x-jwt-sub and the token itself not forwarded");
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            throw new AssertionError("last answer: " + last.get(), e);
        }
        assertEquals("web GET /staff/orders sub=alice 200", curl("/orders?access_token=" + alice));
        assertEquals("web GET /orders sub=carol 200", curl("/orders", "-H", "authorization: Bearer "
                + issuer.token("carol", 3600, Map.of("groups", List.of("guests")))), "another group: the default route");
        // The second rule names no keys: they come from its issuer's OpenID configuration (no x-jwt-sub: that rule
        // copies no claim).
        String bob = discovered.token("bob", 3600, Map.of());
        await(() -> curl("/orders", "-H", "authorization: Bearer " + bob).equals("web GET /orders 200"),
                "a token of the discovered issuer passes");
        int before = backends.webRequests().size();
        // No token: RequestAuthentication lets it through, the ALLOW policy on the request principal does not.
        assertEquals("RBAC: access denied 403", curl("/orders"));
        // Invalid tokens: 401 from the JWT filter, with Envoy's texts and a WWW-Authenticate challenge.
        assertEquals("Jwt is expired 401", curl("/orders", "-H", "authorization: Bearer "
                + issuer.token("alice", -60, Map.of())));
        assertEquals("Jwt verification fails 401", curl("/orders", "-H", "authorization: Bearer "
                + issuer.forge("alice", 3600, Map.of())));
        assertEquals("Jwt issuer is not configured 401", curl("/orders", "-H", "authorization: Bearer "
                + otherIssuer.token("alice", 3600, Map.of())));
        String challenge = run(List.of("curl", "-s", "-o", "/dev/null", "-D", "-", "-m", "10", "--resolve",
                "api.example:" + HTTP_PORT + ":127.0.0.1", "-H", "authorization: Bearer not.a.jwt",
                "http://api.example:" + HTTP_PORT + "/orders")).toLowerCase(java.util.Locale.ROOT);
        assertTrue(challenge.startsWith("http/1.1 401") && challenge.contains("www-authenticate: bearer realm=\"http://api.example:"
                + HTTP_PORT + "/orders\", error=\"invalid_token\""), challenge);
        // A valid token whose groups claim the DENY names.
        assertEquals("RBAC: access denied 403", curl("/orders", "-H", "authorization: Bearer "
                + issuer.token("mallory", 3600, Map.of("groups", List.of("staff", "banned")))));
        assertEquals(before, backends.webRequests().size(), "no refused request reached the backend");
        assertNoNack();
    }

    @Test
    @Order(2)
    void withoutThePolicyAMissingTokenPassesAndAnInvalidOneStillDoesNot() throws Exception {
        Files.delete(configDir.resolve("require-jwt.yaml"));
        await(() -> curl("/orders").equals("web GET /orders 200"), "no policy: a request without a token passes");
        assertEquals("Jwt verification fails 401", curl("/orders", "-H", "authorization: Bearer "
                + issuer.forge("alice", 3600, Map.of())));
        assertNoNack();
    }

    /** curl to api.example on the HTTP port, with extra arguments: "BODY CODE". */
    private static String curl(String path, String... args) throws Exception {
        return LocalMeshChecks.curl(HTTP_PORT, path, args);
    }

    private static void await(java.util.concurrent.Callable<Boolean> condition, String what) {
        LocalMeshChecks.await(condition, what);
    }

    private static void assertNoNack() throws Exception {
        LocalMeshChecks.assertNoNack(HARNESS, pilot);
    }

    private static void write(String file, String yaml) throws Exception {
        LocalMeshChecks.write(configDir, file, yaml);
    }
}
