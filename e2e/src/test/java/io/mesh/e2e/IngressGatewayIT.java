package io.mesh.e2e;

import static io.mesh.e2e.IngressClients.run;
import static io.mesh.e2e.IngressClients.runWithInput;
import static io.mesh.e2e.IngressClients.sClient;
import static io.mesh.e2e.IngressClients.subject;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mesh.testing.FreePorts;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Pilot-generated ingress config through the real gateway process: the packaged pilot in local mode reads a folder
 * of Istio YAML (a Gateway, VirtualServices, ServiceEntries for backends on 127.0.0.1) and credentials for
 * {@code credentialName}, and the packaged gateway in router mode takes its config from pilot's plaintext xDS port.
 * Clients are curl, {@code openssl s_client} and plain TCP sockets; the backends are this test's own servers.
 *
 * <p>One pilot and one gateway serve every test of the class, in order: TLS passthrough by SNI, a weighted TCP route,
 * HTTPS with client certificates (MUTUAL, MUTUAL narrowed by subjectAltNames, OPTIONAL_MUTUAL), HTTPS certificates by
 * SNI on one port and httpsRedirect, CORS preflights, a route change, rotated credentials, a Gateway server added then
 * deleted and a moved endpoint, all applied without a restart, a TLS server that terminates TLS for a tcp route, a
 * client's half-close, a rejected change that keeps the last good route, a Gateway for another selector, and an
 * AuthorizationPolicy on the gateway's TCP and HTTP servers, and an AUTO_PASSTHROUGH server (an east-west gateway) that
 * routes by the mesh's own SNI, and a Kubernetes Gateway API Gateway's TLS (Passthrough and Terminate) and TCP listeners
 * with a TLSRoute and TCPRoutes. Where a wildcard and an exact name both match (a wildcard
 * tls route or Gateway server listed first), the exact one wins, as in Envoy's filter chain match. Every response
 * pilot sent the gateway is ACKed, none NACKed, and pilot accepted every file.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class IngressGatewayIT {

    @RegisterExtension
    static final ProcessHarness HARNESS = new ProcessHarness().named("ingress-gateway").keepBetweenTests();

    private static final ObjectMapper JSON = new ObjectMapper();
    /** TCP connections for the 80/20 split, which must land within ±10 percentage points of it. */
    private static final int SPLIT_CONNECTIONS = 200;

    // The Gateway's server ports: each a free port, bound as given (only 80 and 443 are remapped).
    private static final int PASSTHROUGH_PORT = FreePorts.next();
    private static final int TCP_PORT = FreePorts.next();
    private static final int MUTUAL_PORT = FreePorts.next();
    private static final int MUTUAL_SAN_PORT = FreePorts.next();
    private static final int OPTIONAL_MUTUAL_PORT = FreePorts.next();
    private static final int TLS_TERMINATED_PORT = FreePorts.next();
    private static final int REDIRECT_PORT = FreePorts.next();
    private static final int HTTP_PORT = FreePorts.next();
    private static final int HTTPS_PORT = FreePorts.next();
    /** The TCP server of a Gateway added, then deleted, while the gateway runs. */
    private static final int ADDED_TCP_PORT = FreePorts.next();
    /** The TCP server of a Gateway for another gateway's selector. */
    private static final int OTHER_GATEWAY_PORT = FreePorts.next();
    /** The AUTO_PASSTHROUGH server of the Gateway istio-system/cross-network. */
    private static final int AUTO_PASSTHROUGH_PORT = FreePorts.next();
    /** The TLS (Passthrough), TLS (Terminate) and TCP listeners of the Gateway API Gateway istio-system/edge-api. */
    private static final int GATEWAY_API_TLS_PORT = FreePorts.next();
    private static final int GATEWAY_API_TLS_TERMINATED_PORT = FreePorts.next();
    private static final int GATEWAY_API_TCP_PORT = FreePorts.next();
    /** The HTTP listener of the Gateway API Gateway istio-system/edge-tls, whose route's backend takes only TLS. */
    private static final int BACKEND_TLS_PORT = FreePorts.next();

    private static Path configDir;
    private static Path certs;
    private static RunningComponent pilot;
    private static RunningComponent gateway;
    private static OpensslCertificates certificates;
    private static IngressBackends backends;
    /** The backends' ports: web, secure-a, secure-b, echo-1, echo-2, mesh-a. */
    private static int[] backendPorts;

    @BeforeAll
    static void startMesh() throws Exception {
        Path work = HARNESS.workDir();
        configDir = work.resolve("config");
        certs = work.resolve("certs");
        deleteRecursively(configDir);
        deleteRecursively(certs);
        Files.createDirectories(configDir.resolve("credentials"));
        Files.createDirectories(certs);
        certificates = new OpensslCertificates(certs);
        backends = new IngressBackends(certificates);

        // Certificates, by openssl: the gateway's own for api.example (self-signed: clients trust it alone), the CA of
        // the partners whose client certificates MUTUAL accepts, another CA, and the passthrough backends' own.
        certificates.selfSigned("api", "api.example");
        certificates.ca("partners");
        certificates.ca("strangers");
        certificates.leaf("alice", "alice.partners.example", "partners");
        certificates.leaf("bob", "bob.partners.example", "partners");
        certificates.leaf("mallory", "mallory.partners.example", "strangers");
        certificates.selfSigned("secure-a", "a.tls.example");
        certificates.selfSigned("secure-b", "b.tls.example");
        certificates.selfSigned("wildcard-shop", "*.shop.example");
        certificates.selfSigned("api-shop", "api.shop.example");
        certificates.selfSigned("db", "db.example");
        certificates.selfSigned("mesh-a", "mesh-a.shop.svc.cluster.local");
        Path credentials = configDir.resolve("credentials");
        Files.copy(certs.resolve("api.crt"), credentials.resolve("api.crt"));
        Files.copy(certs.resolve("api.key"), credentials.resolve("api.key"));
        Files.copy(certs.resolve("partners.crt"), credentials.resolve("api-cacert.crt"));
        for (String name : List.of("wildcard-shop", "api-shop", "db")) {
            Files.copy(certs.resolve(name + ".crt"), credentials.resolve(name + ".crt"));
            Files.copy(certs.resolve(name + ".key"), credentials.resolve(name + ".key"));
        }

        // Backends on 127.0.0.1.
        int webPort = backends.http();
        int secureA = backends.tls("secure-a");
        int secureB = backends.tls("secure-b");
        int echo1 = backends.tcpEcho("echo-1");
        int echo2 = backends.tcpEcho("echo-2");
        int meshA = backends.opensslTls("mesh-a");

        backendPorts = new int[] {webPort, secureA, secureB, echo1, echo2, meshA};
        write("services.yaml", services(echo1));
        write("gateway.yaml", IngressConfig.gateway(PASSTHROUGH_PORT, TCP_PORT, MUTUAL_PORT, MUTUAL_SAN_PORT, HTTP_PORT,
                HTTPS_PORT, OPTIONAL_MUTUAL_PORT, TLS_TERMINATED_PORT, REDIRECT_PORT));
        write("secure.yaml", IngressConfig.secureRoutes(PASSTHROUGH_PORT));
        write("east-west.yaml", IngressConfig.eastWestGateway(AUTO_PASSTHROUGH_PORT));
        write("echo.yaml", IngressConfig.echoRoute(TCP_PORT, 80, 20));
        write("db.yaml", IngressConfig.dbRoute(TLS_TERMINATED_PORT));
        write("api.yaml", IngressConfig.apiRoute());
        write("storefront.yaml", IngressConfig.storefrontRoute());
        write("cors.yaml", IngressConfig.corsRoute());

        pilot = HARNESS.start(Component.PILOT, Map.of("MESH_PILOT_CONFIG_DIR", configDir.toString()));
        gateway = HARNESS.startRouter(pilot);
        assertAllAcked();
    }

    @AfterAll
    static void stopBackends() {
        HARNESS.stopAll();
        if (backends != null) {
            backends.close();
        }
    }

    @Test
    @Order(1)
    void tlsPassthroughReachesTheBackendTheSniNamesWithItsOwnCertificate() throws Exception {
        // curl trusts only the backend's own certificate: the gateway did not terminate TLS.
        assertEquals("secure-a GET /hello 200", curlTls("a.tls.example", PASSTHROUGH_PORT, "/hello", "secure-a"));
        assertEquals("secure-b GET /hello 200", curlTls("b.tls.example", PASSTHROUGH_PORT, "/hello", "secure-b"));
        // What openssl saw: the certificate of the backend the SNI names. a.tls.example has its own route, listed after
        // the wildcard one: as in Envoy's filter chain match, the exact server name wins over the wildcard.
        for (String[] sniAndBackend : List.of(new String[] {"a.tls.example", "secure-a"},
                new String[] {"b.tls.example", "secure-b"}, new String[] {"x.y.tls.example", "secure-b"})) {
            String seen = sClient(PASSTHROUGH_PORT, sniAndBackend[0], List.of("-CAfile",
                    certs.resolve(sniAndBackend[1] + ".crt").toString()));
            assertEquals(certificates.subject(sniAndBackend[1]), subject(seen), "the backend's own certificate for SNI " + sniAndBackend[0]);
            assertTrue(seen.contains("Verify return code: 0 (ok)"), seen);
        }
        // A name no route claims, and no SNI at all: closed, no certificate.
        String unknown = sClient(PASSTHROUGH_PORT, "c.other.example", List.of());
        assertTrue(unknown.contains("no peer certificate available"), unknown);
        String unknownCurl = curlTls("c.other.example", PASSTHROUGH_PORT, "/hello", "secure-a");
        assertTrue(unknownCurl.endsWith("000"), "no answer for an unknown SNI: " + unknownCurl);
        String noSni = sClient(PASSTHROUGH_PORT, null, List.of());
        assertTrue(noSni.contains("no peer certificate available"), noSni);
    }

    @Test
    @Order(2)
    void tcpConnectionsAreSplitByTheRoutesWeights() throws Exception {
        Map<String, Integer> split = tcpConnections(SPLIT_CONNECTIONS);
        int first = split.getOrDefault("echo-1", 0);
        int second = split.getOrDefault("echo-2", 0);
        assertEquals(SPLIT_CONNECTIONS, first + second, "every connection answered by one of the two: " + split);
        // 80/20 ± 10 points: 140..180 of 200 (a 50/50 or all-to-one split cannot pass; 80/20 fails by chance < 1 in 1000).
        assertTrue(first >= 140 && first <= 180, "80/20 split within ±10 %: " + split);
    }

    @Test
    @Order(3)
    void mutualTlsAcceptsOnlyClientCertificatesFromTheCredentialsCa() throws Exception {
        assertEquals("web GET /orders 200", curlMutual(MUTUAL_PORT, "alice"));
        assertEquals("web GET /orders 200", curlMutual(MUTUAL_PORT, "bob"));
        assertTrue(curlMutual(MUTUAL_PORT, null).endsWith("000"), "no client certificate: the handshake fails");
        assertTrue(curlMutual(MUTUAL_PORT, "mallory").endsWith("000"), "a certificate from another CA: refused");
        // The server certificate the clients verified is the credential's (api.crt from the credentials folder).
        String seen = sClient(MUTUAL_PORT, "api.example", List.of("-cert", certs.resolve("alice.crt").toString(),
                "-key", certs.resolve("alice.key").toString(), "-CAfile", certs.resolve("api.crt").toString()));
        assertEquals("CN=api.example", subject(seen));
        // subjectAltNames: of the two partners only alice.
        assertEquals("web GET /orders 200", curlMutual(MUTUAL_SAN_PORT, "alice"));
        assertTrue(curlMutual(MUTUAL_SAN_PORT, "bob").endsWith("000"), "bob's certificate lacks the SAN: refused");
        assertTrue(curlMutual(MUTUAL_SAN_PORT, "mallory").endsWith("000"), "another CA: refused");
        // OPTIONAL_MUTUAL: no certificate is fine, one from the credential's CA too, one from another CA is refused.
        assertEquals("web GET /orders 200", curlMutual(OPTIONAL_MUTUAL_PORT, null));
        assertEquals("web GET /orders 200", curlMutual(OPTIONAL_MUTUAL_PORT, "alice"));
        assertTrue(curlMutual(OPTIONAL_MUTUAL_PORT, "mallory").endsWith("000"), "another CA: refused");
    }

    @Test
    @Order(4)
    void httpsServesEachServersCertificateBySniTheExactNameBeforeTheWildcard() throws Exception {
        // Two SIMPLE servers on one port: *.shop.example (listed first) and api.shop.example, each with its credential.
        assertEquals("web GET /orders 200", run(List.of("curl", "-s", "-m", "10", "--cacert",
                certs.resolve("api-shop.crt").toString(), "--resolve", "api.shop.example:" + HTTPS_PORT + ":127.0.0.1",
                "-w", " %{http_code}", "https://api.shop.example:" + HTTPS_PORT + "/orders")));
        assertEquals("web GET /home 200", run(List.of("curl", "-s", "-m", "10", "--cacert",
                certs.resolve("wildcard-shop.crt").toString(), "--resolve", "www.shop.example:" + HTTPS_PORT + ":127.0.0.1",
                "-w", " %{http_code}", "https://www.shop.example:" + HTTPS_PORT + "/home")));
        assertEquals("CN=api.shop.example", subject(sClient(HTTPS_PORT, "api.shop.example", List.of())));
        assertEquals("CN=*.shop.example", subject(sClient(HTTPS_PORT, "www.shop.example", List.of())));
        // The same hosts on a plain HTTP server with httpsRedirect: a 301 to https, path and query kept, not routed.
        int before = backends.webRequests().size();
        String redirect = run(List.of("curl", "-s", "-m", "10", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}",
                "-H", "Host: www.shop.example", "http://127.0.0.1:" + REDIRECT_PORT + "/cart?x=1"));
        assertEquals("301 https://www.shop.example/cart?x=1", redirect);
        // A host of that server that no VirtualService routes: redirected all the same.
        assertEquals("301 https://legacy.example/old/page", run(List.of("curl", "-s", "-m", "10", "-o", "/dev/null", "-w",
                "%{http_code} %{redirect_url}", "-H", "Host: legacy.example", "http://127.0.0.1:" + REDIRECT_PORT + "/old/page")));
        assertEquals(before, backends.webRequests().size(), "the redirect is the gateway's answer");
    }

    @Test
    @Order(5)
    void corsPreflightsFromAllowedOriginsAreAnsweredByTheGateway() throws Exception {
        int forwardedBefore = backends.options();
        String allowed = curlHttp("-X", "OPTIONS", "-H", "Origin: https://app.example",
                "-H", "Access-Control-Request-Method: POST", "-H", "Access-Control-Request-Headers: content-type");
        assertTrue(allowed.startsWith("http/1.1 200"), allowed);
        assertTrue(allowed.contains("\naccess-control-allow-origin: https://app.example\r"), allowed);
        assertTrue(allowed.contains("\naccess-control-allow-methods: get,post\r"), allowed);
        assertTrue(allowed.contains("\naccess-control-allow-headers: content-type\r"), allowed);
        assertTrue(allowed.contains("\naccess-control-max-age: 600\r"), allowed);
        assertEquals(forwardedBefore, backends.options(), "the gateway answered the preflight itself");

        // A disallowed origin gets no CORS grant (the preflight is not a CORS one for the gateway: the backend answers).
        String denied = curlHttp("-X", "OPTIONS", "-H", "Origin: https://evil.example",
                "-H", "Access-Control-Request-Method: POST");
        assertTrue(denied.startsWith("http/1.1 200") && denied.endsWith("web options /cors"), denied);
        assertTrue(!denied.contains("access-control-allow-"), denied);
        assertEquals(forwardedBefore + 1, backends.options(), "the disallowed preflight went on to the backend");

        // The actual request from the allowed origin: the backend's answer, with the allowed origin and exposed headers.
        String get = curlHttp("-H", "Origin: https://app.example");
        assertTrue(get.startsWith("http/1.1 200") && get.contains("web get /cors"), get);
        assertTrue(get.contains("\naccess-control-allow-origin: https://app.example\r"), get);
        assertTrue(get.contains("\naccess-control-expose-headers: x-served-by\r"), get);
        String evilGet = curlHttp("-H", "Origin: https://evil.example");
        assertTrue(evilGet.startsWith("http/1.1 200") && !evilGet.contains("access-control-allow-origin"), evilGet);
    }

    @Test
    @Order(6)
    void aChangedRouteAppliesWithoutARestart() throws Exception {
        long pid = gateway.process().pid();
        String ldsBefore = routerStatus().path("xds").path("lds").path("acked").asText();
        write("echo.yaml", IngressConfig.echoRoute(TCP_PORT, 0, 100));
        awaitRouter(Duration.ofSeconds(30), r -> !ldsBefore.equals(r.path("xds").path("lds").path("acked").asText()),
                "the gateway ACKs the new listener");
        Map<String, Integer> split = tcpConnections(100);
        assertEquals(Map.of("echo-2", 100), split, "weights 0/100: every new connection goes to echo-2");
        assertTrue(gateway.process().isAlive());
        assertEquals(pid, gateway.process().pid(), "the same gateway process");
        assertAllAcked();
    }

    @Test
    @Order(7)
    void rotatedCredentialsApplyWithoutARestart() throws Exception {
        long pid = gateway.process().pid();
        // A new server certificate for api.example, and the partners' CA replaced by the strangers' (as a Secret's
        // tls.crt, tls.key and ca.crt change together): files moved into place, so pilot reads each whole.
        certificates.selfSigned("api-next", "api.example");
        Path credentials = configDir.resolve("credentials");
        replace(certs.resolve("api-next.key"), credentials.resolve("api.key"));
        replace(certs.resolve("api-next.crt"), credentials.resolve("api.crt"));
        replace(certs.resolve("strangers.crt"), credentials.resolve("api-cacert.crt"));
        awaitCondition(Duration.ofSeconds(30), () -> curlMutual(MUTUAL_PORT, "mallory", "api-next").endsWith(" 200"),
                "the new certificate served and the new CA trusted");
        assertEquals("web GET /orders 200", curlMutual(MUTUAL_PORT, "mallory", "api-next"));
        assertTrue(curlMutual(MUTUAL_PORT, "alice", "api-next").endsWith("000"), "the old CA's client: refused now");
        assertTrue(curlMutual(MUTUAL_PORT, "mallory", "api").endsWith("000"), "the old server certificate is not served");
        // The port narrowed to alice's name takes the same credential: alice is from the old CA, mallory lacks the SAN.
        assertTrue(curlMutual(MUTUAL_SAN_PORT, "alice", "api-next").endsWith("000"), "the old CA's client: refused");
        assertTrue(curlMutual(MUTUAL_SAN_PORT, "mallory", "api-next").endsWith("000"), "mallory lacks alice's SAN");
        assertEquals(pid, gateway.process().pid(), "the same gateway process");
        assertAllAcked();
    }

    @Test
    @Order(8)
    void aGatewayServerAddedWhileRunningIsBoundAndClosedWhenDeleted() throws Exception {
        long pid = gateway.process().pid();
        assertEquals(Map.of("refused", 3), IngressClients.tcpConnections(ADDED_TCP_PORT, 3), "nothing listens there yet");
        write("added.yaml", """
                apiVersion: networking.istio.io/v1
                kind: Gateway
                metadata:
                  name: added
                  namespace: istio-system
                spec:
                  selector:
                    istio: ingressgateway
                  servers:
                  - port: {number: %1$d, name: tcp-added, protocol: TCP}
                    hosts: [shop/added.example]
                ---
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata:
                  name: added
                  namespace: shop
                spec:
                  hosts: [added.example]
                  gateways: [istio-system/added]
                  tcp:
                  - route:
                    - destination:
                        host: echo-1.shop.svc.cluster.local
                        port: {number: 9000}
                """.formatted(ADDED_TCP_PORT));
        awaitCondition(Duration.ofSeconds(30), () -> IngressClients.tcpConnections(ADDED_TCP_PORT, 1).containsKey("echo-1"),
                "the added server's port is bound");
        assertEquals(Map.of("echo-1", 20), IngressClients.tcpConnections(ADDED_TCP_PORT, 20));
        assertEquals(Map.of("echo-2", 20), IngressClients.tcpConnections(TCP_PORT, 20), "the other listener is unchanged");
        assertAllAcked();

        Files.delete(configDir.resolve("added.yaml"));
        awaitCondition(Duration.ofSeconds(30), () -> IngressClients.tcpConnections(ADDED_TCP_PORT, 1).containsKey("refused"),
                "the deleted server's port is closed");
        assertEquals(Map.of("refused", 3), IngressClients.tcpConnections(ADDED_TCP_PORT, 3));
        assertEquals(Map.of("echo-2", 20), IngressClients.tcpConnections(TCP_PORT, 20), "the other listener still serves");
        assertEquals(pid, gateway.process().pid(), "the same gateway process");
        assertAllAcked();
    }

    @Test
    @Order(9)
    void aTlsServerTerminatesTlsForATcpRoute() throws Exception {
        // The client's TLS ends at the gateway (its credential's certificate, verified), and the echo server gets the
        // decrypted line: the answer names echo-1.
        String answer = runWithInput(List.of("openssl", "s_client", "-quiet", "-verify_return_error", "-connect",
                "127.0.0.1:" + TLS_TERMINATED_PORT, "-servername", "db.example", "-CAfile", certs.resolve("db.crt").toString()),
                "hello over tls\n");
        assertTrue(answer.lines().anyMatch("echo-1: hello over tls"::equals), answer);
        assertEquals("CN=db.example", subject(sClient(TLS_TERMINATED_PORT, "db.example", List.of())));
        String other = sClient(TLS_TERMINATED_PORT, "other.example", List.of());
        assertTrue(other.contains("no peer certificate available"), "no server takes the name: closed\n" + other);
        assertAllAcked();
    }

    @Test
    @Order(10)
    void aClientThatHalfClosesAfterItsRequestStillGetsTheAnswer() throws Exception {
        // Like `nc -N` or a request-then-shutdown protocol: the client sends its request without a line end, shuts its
        // side down (FIN), and reads. The echo server answers at end of input: the answer must come back through the
        // gateway, which passes the FIN on and keeps the other direction open, as Envoy's tcp_proxy does.
        for (int i = 0; i < 5; i++) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), TCP_PORT), 5_000);
                s.setSoTimeout(10_000);
                s.getOutputStream().write(("half-closed " + i).getBytes(StandardCharsets.UTF_8));
                s.getOutputStream().flush();
                s.shutdownOutput();
                String answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertEquals("echo-2: half-closed " + i, answer);
            }
        }
    }

    @Test
    @Order(11)
    void aRejectedChangeKeepsTheLastGoodRouteAndAnotherGatewaysServersStayOffThisOne() throws Exception {
        // A Gateway that selects another gateway (an egress gateway's labels), with a route bound to it.
        write("other.yaml", """
                apiVersion: networking.istio.io/v1
                kind: Gateway
                metadata:
                  name: other
                  namespace: istio-system
                spec:
                  selector:
                    istio: egressgateway
                  servers:
                  - port: {number: %1$d, name: tcp-other, protocol: TCP}
                    hosts: [shop/other.example]
                ---
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata:
                  name: other
                  namespace: shop
                spec:
                  hosts: [other.example]
                  gateways: [istio-system/other]
                  tcp:
                  - route:
                    - destination:
                        host: echo-1.shop.svc.cluster.local
                        port: {number: 9000}
                """.formatted(OTHER_GATEWAY_PORT));
        // Weights that add up to 120: pilot rejects the change and keeps serving the last good version (0/100).
        write("echo.yaml", IngressConfig.echoRoute(TCP_PORT, 60, 60));
        awaitCondition(Duration.ofSeconds(30), () -> {
            JsonNode echo = configStatus("VirtualService", "shop", "echo");
            return echo != null && "Rejected".equals(echo.path("status").asText())
                    && configStatus("Gateway", "istio-system", "other") != null;
        }, "pilot rejects the VirtualService and takes the other Gateway");
        JsonNode rejected = configStatus("VirtualService", "shop", "echo");
        assertEquals("last good version", rejected.path("inForce").asText(), rejected.toString());
        assertTrue(rejected.path("reason").asText().contains("weights must sum to 100, got 120"), rejected.toString());
        assertEquals(Map.of("echo-2", 20), tcpConnections(20), "the last good route still applies");

        // A valid change after it applies (so the snapshot with the other Gateway is in force) ...
        String ldsBefore = routerStatus().path("xds").path("lds").path("acked").asText();
        write("echo.yaml", IngressConfig.echoRoute(TCP_PORT, 100, 0));
        awaitRouter(Duration.ofSeconds(30), r -> !ldsBefore.equals(r.path("xds").path("lds").path("acked").asText()),
                "the gateway ACKs the valid change");
        assertEquals(Map.of("echo-1", 20), tcpConnections(20));
        // ... and this gateway has no listener for the other gateway's server.
        assertEquals(Map.of("refused", 3), IngressClients.tcpConnections(OTHER_GATEWAY_PORT, 3), "another selector's server is not bound here");
        Files.delete(configDir.resolve("other.yaml"));
        assertAllAcked();
    }

    @Test
    @Order(12)
    void aServiceWhoseEndpointMovedIsReachedAtItsNewAddress() throws Exception {
        // Service echo-1's endpoint moves to another server (a new pod, say): an endpoints-only change. The TCP route
        // (100/0 to echo-1 since the last test) is unchanged; new connections reach the new endpoint.
        int moved = backends.tcpEcho("echo-1-moved");
        String edsBefore = routerStatus().path("xds").path("eds").path("acked").asText();
        write("services.yaml", services(moved));
        awaitRouter(Duration.ofSeconds(30), r -> !edsBefore.equals(r.path("xds").path("eds").path("acked").asText()),
                "the gateway ACKs the new endpoints");
        assertEquals(Map.of("echo-1-moved", 20), tcpConnections(20));
        write("services.yaml", services(backendPorts[3]));
        awaitCondition(Duration.ofSeconds(30), () -> tcpConnections(1).containsKey("echo-1"), "back to the first endpoint");
        assertAllAcked();
    }

    @Test
    @Order(13)
    void anAuthorizationPolicyForTheGatewayAppliesToItsTcpServers() throws Exception {
        // A DENY for clients from 127.0.0.1 on the TCP server's port and the TLS-terminating one (istiod applies
        // policies that select a gateway to its TCP servers as network RBAC): connections are closed, and the HTTP
        // servers on other ports are unaffected.
        write("deny-tcp.yaml", """
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata:
                  name: deny-tcp
                  namespace: istio-system
                spec:
                  selector:
                    matchLabels:
                      istio: ingressgateway
                  action: DENY
                  rules:
                  - from:
                    - source:
                        ipBlocks: ["127.0.0.1/32"]
                    to:
                    - operation:
                        ports: ["%d", "%d"]
                  - to:
                    - operation:
                        paths: ["/admin*"]
                """.formatted(TCP_PORT, TLS_TERMINATED_PORT));
        try {
            awaitCondition(Duration.ofSeconds(30), () -> tcpConnections(1).containsKey("closed"),
                    "DENY closes the TCP server's connections");
            assertEquals(Map.of("closed", 5), tcpConnections(5));
            // The TLS server that terminates TLS for a tcp route too, at once (the same push, swapped in with the TCP
            // server's): the handshake, then closed before the echo server.
            List<String> overTls = List.of("openssl", "s_client", "-quiet", "-connect", "127.0.0.1:" + TLS_TERMINATED_PORT,
                    "-servername", "db.example", "-CAfile", certs.resolve("db.crt").toString());
            String tls = runWithInput(overTls, "hello over tls\n");
            assertTrue(tls.lines().noneMatch(l -> l.startsWith("echo-1")), tls);
            assertTrue(curlHttp().startsWith("http/1.1 200"), "the HTTP server's port is not in the TCP rule");
            // The policy's HTTP rule on the HTTP servers: /admin is refused with 403 before any backend sees it (the same
            // push; waited for all the same, as the TCP close above was).
            List<String> admin = List.of("curl", "-s", "-m", "10", "-w", " %{http_code}", "--resolve",
                    "cors.example:" + HTTP_PORT + ":127.0.0.1", "http://cors.example:" + HTTP_PORT + "/admin/users");
            awaitCondition(Duration.ofSeconds(30), () -> run(admin).equals("RBAC: access denied 403"),
                    "DENY's HTTP rule answers 403 on the HTTP server");
            int before = backends.webRequests().size();
            assertEquals("RBAC: access denied 403", run(admin));
            assertEquals(before, backends.webRequests().size());
        } finally {
            Files.deleteIfExists(configDir.resolve("deny-tcp.yaml"));   // later tests run without it, whatever happened
        }
        awaitCondition(Duration.ofSeconds(30), () -> tcpConnections(1).containsKey("echo-1"), "no policy: allowed again");
        List<String> overTls = List.of("openssl", "s_client", "-quiet", "-connect", "127.0.0.1:" + TLS_TERMINATED_PORT,
                "-servername", "db.example", "-CAfile", certs.resolve("db.crt").toString());
        awaitCondition(Duration.ofSeconds(30), () -> runWithInput(overTls, "hello over tls\n").lines()
                .anyMatch("echo-1: hello over tls"::equals), "no policy: the TLS-terminating server relays again");
        assertAllAcked();
    }

    @Test
    @Order(14)
    void autoPassthroughRoutesByTheMeshSniToTheServicePortItNames() throws Exception {
        // As a sidecar in another network sends its mTLS to an east-west gateway: SNI outbound_.PORT_._.HOST, no
        // VirtualService. The TLS passes through untouched: the client sees the endpoint's own certificate (mesh-a,
        // an openssl server standing in for the destination's sidecar).
        String seen = sClient(AUTO_PASSTHROUGH_PORT, "outbound_.443_._.mesh-a.shop.svc.cluster.local",
                List.of("-CAfile", certs.resolve("mesh-a.crt").toString()));
        assertEquals(certificates.subject("mesh-a"), subject(seen), seen);
        assertTrue(seen.contains("Verify return code: 0 (ok)"), seen);
        // No such service, a port the service does not have, a name of another form: closed, no certificate.
        for (String sni : List.of("outbound_.443_._.nope.shop.svc.cluster.local",
                "outbound_.444_._.mesh-a.shop.svc.cluster.local", "a.tls.example")) {
            String closed = sClient(AUTO_PASSTHROUGH_PORT, sni, List.of());
            assertTrue(closed.contains("no peer certificate available"), sni + ": " + closed);
        }
        assertAllAcked();
    }

    @Test
    @Order(15)
    void gatewayApiTlsAndTcpListenersCarryTlsRoutesAndTcpRoutes() throws Exception {
        long pid = gateway.process().pid();
        write("gateway-api.yaml", IngressConfig.gatewayApi(GATEWAY_API_TLS_PORT, GATEWAY_API_TLS_TERMINATED_PORT,
                GATEWAY_API_TCP_PORT));
        awaitCondition(Duration.ofSeconds(30), () -> IngressClients.tcpConnections(GATEWAY_API_TCP_PORT, 1)
                .containsKey("echo-2"), "the Gateway API Gateway's TCP listener is bound");
        // TCP listener, TCPRoute: every connection to its backend.
        assertEquals(Map.of("echo-2", 20), IngressClients.tcpConnections(GATEWAY_API_TCP_PORT, 20));
        // TLS Passthrough listener, TLSRoute: curl trusts only the backend's own certificate, so the gateway did not
        // terminate the TLS; a name the listener does not take is closed without a certificate.
        assertEquals("secure-a GET /hello 200", curlTls("a.tls.example", GATEWAY_API_TLS_PORT, "/hello", "secure-a"));
        String other = sClient(GATEWAY_API_TLS_PORT, "b.tls.example", List.of());
        assertTrue(other.contains("no peer certificate available"), other);
        // TLS Terminate listener, TCPRoute: the TLS ends at the gateway with the certificateRefs Secret's certificate,
        // and the echo server gets the decrypted line.
        String answer = runWithInput(List.of("openssl", "s_client", "-quiet", "-verify_return_error", "-connect",
                "127.0.0.1:" + GATEWAY_API_TLS_TERMINATED_PORT, "-servername", "db.example", "-CAfile",
                certs.resolve("db.crt").toString()), "hello over tls\n");
        assertTrue(answer.lines().anyMatch("echo-1: hello over tls"::equals), answer);
        // TLS Terminate listener, TLSRoute (TLSRouteModeTerminate), on the same port: the SNI picks the listener, its
        // certificate ends the TLS, and the TLSRoute's echo server gets the decrypted line; a name no listener takes
        // is closed without a certificate.
        String routed = runWithInput(List.of("openssl", "s_client", "-quiet", "-verify_return_error", "-connect",
                "127.0.0.1:" + GATEWAY_API_TLS_TERMINATED_PORT, "-servername", "api.shop.example", "-CAfile",
                certs.resolve("api-shop.crt").toString()), "hello over tls\n");
        assertTrue(routed.lines().anyMatch("echo-2: hello over tls"::equals), routed);
        assertEquals("CN=api.shop.example", subject(sClient(GATEWAY_API_TLS_TERMINATED_PORT, "api.shop.example",
                List.of())));
        String unknown = sClient(GATEWAY_API_TLS_TERMINATED_PORT, "other.shop.example", List.of());
        assertTrue(unknown.contains("no peer certificate available"), unknown);
        assertAllAcked();

        Files.delete(configDir.resolve("gateway-api.yaml"));
        awaitCondition(Duration.ofSeconds(30), () -> IngressClients.tcpConnections(GATEWAY_API_TCP_PORT, 1)
                .containsKey("refused"), "the deleted Gateway's ports are closed");
        assertEquals(pid, gateway.process().pid(), "the same gateway process");
        assertAllAcked();
    }

    @Test
    @Order(16)
    void backendTlsPolicyOriginatesTlsToTheBackendVerifiedByItsConfigMapsCa() throws Exception {
        certificates.ca("backends");
        certificates.server("api-backend", "api.backend.example", "backends");
        // The same name, from a CA the policy does not name.
        certificates.server("impostor", "api.backend.example", "strangers");
        int genuine = backends.tls("api-backend");
        int impostor = backends.tls("impostor");
        String ca = Files.readString(certificates.crt("backends"));
        write("backend-tls.yaml", IngressConfig.backendTls(BACKEND_TLS_PORT, genuine, ca));
        // A plain HTTP request to the gateway; the backend is HTTPS only, so an answer means the router spoke TLS to it
        // and accepted its certificate.
        awaitCondition(Duration.ofSeconds(30), () -> curlBackendTls().equals("api-backend GET /hello 200"),
                "the route through the BackendTLSPolicy answers", IngressGatewayIT::curlBackendTls);
        assertAllAcked();

        // Another CA's certificate for the same name: the handshake fails, and the gateway answers 503 (UF).
        write("backend-tls.yaml", IngressConfig.backendTls(BACKEND_TLS_PORT, impostor, ca));
        awaitCondition(Duration.ofSeconds(30), () -> curlBackendTls().endsWith(" 503"),
                "a certificate the policy's CA did not sign is refused", IngressGatewayIT::curlBackendTls);

        // The ConfigMap now holds the impostor's CA: pilot pushes it, and the same backend is accepted.
        write("backend-tls.yaml", IngressConfig.backendTls(BACKEND_TLS_PORT, impostor,
                Files.readString(certificates.crt("strangers"))));
        awaitCondition(Duration.ofSeconds(30), () -> curlBackendTls().equals("impostor GET /hello 200"),
                "the CA from the edited ConfigMap applies", IngressGatewayIT::curlBackendTls);
        assertAllAcked();
        Files.delete(configDir.resolve("backend-tls.yaml"));
    }

    /** curl to api.backend.example on the edge-tls Gateway's HTTP listener: "BODY CODE". */
    private static String curlBackendTls() throws Exception {
        return run(List.of("curl", "-s", "-m", "10", "--resolve", "api.backend.example:" + BACKEND_TLS_PORT + ":127.0.0.1",
                "-w", " %{http_code}", "http://api.backend.example:" + BACKEND_TLS_PORT + "/hello"));
    }

    // ----- config

    /** The backends' ServiceEntries, with service echo-1's one endpoint on {@code echo1Endpoint}. */
    private static String services(int echo1Endpoint) {
        return IngressConfig.serviceEntry("web", 80, "http", "HTTP", backendPorts[0])
                + "---\n" + IngressConfig.serviceEntry("secure-a", 443, "tls", "TLS", backendPorts[1])
                + "---\n" + IngressConfig.serviceEntry("secure-b", 443, "tls", "TLS", backendPorts[2])
                + "---\n" + IngressConfig.serviceEntry("echo-1", 9000, "tcp", "TCP", echo1Endpoint)
                + "---\n" + IngressConfig.serviceEntry("echo-2", 9000, "tcp", "TCP", backendPorts[4])
                + "---\n" + IngressConfig.serviceEntry("mesh-a", 443, "tls", "TLS", backendPorts[5]);
    }

    /** Copies {@code source} over {@code target} atomically (a temporary file moved into place). */
    private static void replace(Path source, Path target) throws IOException {
        Path tmp = target.resolveSibling("." + target.getFileName() + ".tmp");
        Files.copy(source, tmp, StandardCopyOption.REPLACE_EXISTING);
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** Polls a condition that pilot's push makes true, failing with {@code what} after the deadline. */
    private static void awaitCondition(Duration deadline, java.util.concurrent.Callable<Boolean> condition, String what)
            throws Exception {
        awaitCondition(deadline, condition, what, IngressGatewayIT::routerStatus);
    }

    /** {@link #awaitCondition}, the failure saying what {@code detail} gives at the deadline. */
    private static void awaitCondition(Duration deadline, java.util.concurrent.Callable<Boolean> condition, String what,
            java.util.concurrent.Callable<Object> detail) throws Exception {
        try {
            org.awaitility.Awaitility.await(what).atMost(deadline).pollInterval(Duration.ofMillis(200)).until(condition);
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            fail("not within " + deadline + ": " + what + "; the gateway in /debug/syncz: " + detail.call());
        }
    }

    /** Replaces a config file atomically, so pilot never reads half of it. */
    private static void write(String file, String yaml) throws IOException {
        Path tmp = configDir.resolve("." + file + ".tmp");
        Files.writeString(tmp, yaml);
        Files.move(tmp, configDir.resolve(file), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    // ----- pilot's view of the gateway

    /** The gateway's connection in pilot's /debug/syncz. */
    private static JsonNode routerStatus() throws Exception {
        HttpResponse<String> r = HARNESS.get(pilot.monitoring("/debug/syncz"));
        assertEquals(200, r.statusCode(), r.body());
        JsonNode routers = JSON.createArrayNode();
        for (JsonNode proxy : JSON.readTree(r.body())) {
            if ("ROUTER".equals(proxy.path("type").asText())) {
                ((com.fasterxml.jackson.databind.node.ArrayNode) routers).add(proxy);
            }
        }
        assertEquals(1, routers.size(), "one gateway connected to pilot: " + r.body());
        return routers.get(0);
    }

    /** A resource's line in pilot's /debug/configz, or null when pilot does not have it. */
    private static JsonNode configStatus(String kind, String namespace, String name) throws Exception {
        HttpResponse<String> configz = HARNESS.get(pilot.monitoring("/debug/configz"));
        for (JsonNode r : JSON.readTree(configz.body()).path("resources")) {
            if (kind.equals(r.path("kind").asText()) && namespace.equals(r.path("namespace").asText())
                    && name.equals(r.path("name").asText())) {
                return r;
            }
        }
        return null;
    }

    /** Every xDS type pilot sent the gateway is ACKed at its latest version, and none was ever NACKed. */
    private static void assertAllAcked() throws Exception {
        awaitRouter(Duration.ofSeconds(30), r -> {
            JsonNode xds = r.path("xds");
            for (String type : List.of("lds", "rds", "cds", "eds", "sds")) {
                if (!"SYNCED".equals(xds.path(type).path("status").asText())) {
                    return false;
                }
            }
            return true;
        }, "the gateway ACKs LDS, RDS, CDS, EDS and SDS");
        JsonNode xds = routerStatus().path("xds");
        for (Map.Entry<String, JsonNode> e : xds.properties()) {
            assertTrue(e.getValue().path("lastNack").isMissingNode(), "the gateway NACKed " + e.getKey() + ": " + e.getValue());
        }
        // Pilot accepted every file of the test's config (a rejected one would leave a case silently unserved).
        HttpResponse<String> configz = HARNESS.get(pilot.monitoring("/debug/configz"));
        for (JsonNode resource : JSON.readTree(configz.body()).path("resources")) {
            assertEquals("Accepted", resource.path("status").asText(), resource.toString());
        }
        assertEquals(0, JSON.readTree(configz.body()).path("fileErrors").size(), configz.body());
    }

    private static void awaitRouter(Duration deadline, java.util.function.Predicate<JsonNode> condition, String what)
            throws Exception {
        java.util.concurrent.atomic.AtomicReference<JsonNode> last = new java.util.concurrent.atomic.AtomicReference<>();
        awaitCondition(deadline, () -> {
            HttpResponse<String> r = HARNESS.get(pilot.monitoring("/debug/syncz"));
            for (JsonNode proxy : JSON.readTree(r.body())) {
                if ("ROUTER".equals(proxy.path("type").asText())) {
                    last.set(proxy);
                    if (condition.test(proxy)) {
                        return true;
                    }
                }
            }
            return false;
        }, what, last::get);
    }

    // ----- clients

    /** curl over TLS to {@code host} (resolved to 127.0.0.1), trusting only {@code trusted}'s certificate: "BODY CODE". */
    private static String curlTls(String host, int port, String path, String trusted) throws Exception {
        return run(List.of("curl", "-s", "-m", "10", "--cacert", certs.resolve(trusted + ".crt").toString(),
                "--resolve", host + ":" + port + ":127.0.0.1", "-w", " %{http_code}", "https://" + host + ":" + port + path));
    }

    /** curl to api.example on an HTTPS MUTUAL port, with {@code client}'s certificate (or none): "BODY CODE". */
    private static String curlMutual(int port, String client) throws Exception {
        return curlMutual(port, client, "api");
    }

    /** The same, trusting only the server certificate {@code trusted}.crt. */
    private static String curlMutual(int port, String client, String trusted) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("curl", "-s", "-m", "10", "--cacert", certs.resolve(trusted + ".crt").toString(),
                "--resolve", "api.example:" + port + ":127.0.0.1", "-w", " %{http_code}"));
        if (client != null) {
            cmd.addAll(List.of("--cert", certs.resolve(client + ".crt").toString(), "--key", certs.resolve(client + ".key").toString()));
        }
        cmd.add("https://api.example:" + port + "/orders");
        return run(cmd);
    }

    /** curl -si to http://cors.example/cors on the HTTP port, with extra arguments; the answer in lower case. */
    private static String curlHttp(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("curl", "-si", "-m", "10",
                "--resolve", "cors.example:" + HTTP_PORT + ":127.0.0.1"));
        cmd.addAll(List.of(args));
        cmd.add("http://cors.example:" + HTTP_PORT + "/cors");
        return run(cmd).toLowerCase(Locale.ROOT);
    }

    /** {@code n} TCP connections to the Gateway's TCP port, each answered by one echo server: who answered, how often. */
    private static Map<String, Integer> tcpConnections(int n) throws IOException {
        return IngressClients.tcpConnections(TCP_PORT, n);
    }

    private static void deleteRecursively(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path path : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(path);
            }
        }
    }
}
