package io.mesh.e2e;

import static io.mesh.e2e.IngressClients.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import io.mesh.testing.FreePorts;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * External authorization at the edge, as Istio's "External Authorization" task sets it up, through the packaged pilot
 * (local mode) and the packaged gateway: the mesh's {@code extensionProviders} name an {@code envoyExtAuthzHttp}
 * service (a ServiceEntry here, its server an HTTP server of this test that allows a request carrying
 * {@code x-ext-authz: allow}), and a CUSTOM AuthorizationPolicy for the ingress gateway sends the requests to
 * {@code /private/*} there. curl is the client.
 */
class IngressExtAuthzIT {

    @RegisterExtension
    static final ProcessHarness HARNESS = new ProcessHarness().named("ingress-ext-authz").keepBetweenTests();

    private static final int HTTP_PORT = FreePorts.next();

    private static Path configDir;
    private static RunningComponent pilot;
    private static IngressBackends backends;
    private static HttpServer authz;
    /** The checks the authorization server got: "METHOD PATH x-ext-authz=VALUE". */
    private static final List<String> CHECKS = new CopyOnWriteArrayList<>();

    @BeforeAll
    static void startMesh() throws Exception {
        configDir = LocalMeshChecks.emptyConfigDir(HARNESS);
        backends = new IngressBackends(null);
        int authzPort = FreePorts.next();
        authz = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), authzPort), 16);
        authz.createContext("/", exchange -> {
            String verdict = exchange.getRequestHeaders().getFirst("x-ext-authz");
            CHECKS.add(exchange.getRequestMethod() + " " + exchange.getRequestURI().getPath() + " x-ext-authz=" + verdict);
            boolean allow = "allow".equals(verdict);
            byte[] body = (allow ? "" : "denied by ext_authz").getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add(allow ? "x-ext-authz-check-result" : "x-ext-authz-reason",
                    allow ? "allowed" : "no allow header");
            exchange.sendResponseHeaders(allow ? 200 : 403, body.length == 0 ? -1 : body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        authz.start();
        write("services.yaml", IngressConfig.serviceEntry("web", 80, "http", "HTTP", backends.http()) + "---\n"
                + IngressConfig.serviceEntry("ext-authz", 8000, "http", "HTTP", authzPort));
        write("edge.yaml", LocalMeshChecks.edgeGateway(HTTP_PORT) + """
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: api, namespace: shop}
                spec:
                  hosts: [api.example]
                  gateways: [istio-system/edge]
                  http:
                  - route:
                    - destination: {host: web.shop.svc.cluster.local, port: {number: 80}}
                ---
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: ext-authz, namespace: istio-system}
                spec:
                  selector:
                    matchLabels: {istio: ingressgateway}
                  action: CUSTOM
                  provider: {name: sample-ext-authz}
                  rules:
                  - to:
                    - operation:
                        paths: ["/private/*"]
                """);
        pilot = HARNESS.start(Component.PILOT, Map.of("MESH_PILOT_CONFIG_DIR", configDir.toString(),
                "MESH_PILOT_EXTENSION_PROVIDERS", """
                        - name: sample-ext-authz
                          envoyExtAuthzHttp:
                            service: shop/ext-authz.shop.svc.cluster.local
                            port: 8000
                            includeRequestHeadersInCheck: [x-ext-authz]
                            headersToUpstreamOnAllow: [x-ext-authz-check-result]
                            headersToDownstreamOnDeny: [x-ext-authz-reason]
                        """));
        HARNESS.startRouter(pilot);
    }

    @AfterAll
    static void stop() {
        HARNESS.stopAll();
        if (authz != null) {
            authz.stop(0);
        }
        if (backends != null) {
            try {
                backends.close();
            } catch (Exception ignored) {
                // best effort
            }
        }
    }

    @Test
    void theCustomPolicysPathsAskTheAuthorizationServerAndOtherPathsDoNot() throws Exception {
        await(() -> curl("/public/page").equals("web GET /public/page 200"), "the route serves");
        assertTrue(CHECKS.isEmpty(), "a path no CUSTOM rule names is not checked: " + CHECKS);

        // Denied: the server's status and body, and the header it lets through to the client; the backend never sees it.
        int before = backends.webRequests().size();
        String denied = run(List.of("curl", "-s", "-D", "-", "-m", "10", "--resolve", "api.example:" + HTTP_PORT
                + ":127.0.0.1", "http://api.example:" + HTTP_PORT + "/private/orders"));
        assertTrue(denied.startsWith("HTTP/1.1 403"), denied);
        assertTrue(denied.toLowerCase(java.util.Locale.ROOT).contains("x-ext-authz-reason: no allow header"), denied);
        assertTrue(denied.endsWith("denied by ext_authz"), denied);
        assertEquals(before, backends.webRequests().size(), "the denied request did not reach the backend");
        assertEquals("GET /private/orders x-ext-authz=null", CHECKS.get(CHECKS.size() - 1));

        // Allowed: the check carried the header the provider includes, and the request went on to the backend.
        assertEquals("web GET /private/orders 200", curl("/private/orders", "-H", "x-ext-authz: allow"));
        assertEquals("GET /private/orders x-ext-authz=allow", CHECKS.get(CHECKS.size() - 1));
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
