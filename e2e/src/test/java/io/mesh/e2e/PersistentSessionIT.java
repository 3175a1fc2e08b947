package io.mesh.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import io.mesh.testing.FreePorts;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Persistent sessions from a label to a sticky request, through the packaged components: pilot in local mode with
 * istiod's PILOT_ENABLE_PERSISTENT_SESSION_FILTER=true reads a ServiceEntry labelled {@code istio.io/persistent-session}
 * (local mode's services are ServiceEntries; istiod reads their labels as a Service's), a Gateway and a VirtualService
 * whose host is the service, and the packaged gateway in router mode serves them. curl: without the cookie the two
 * endpoints share the requests, with the first response's cookie 20 requests reach the same one. The same mesh has a
 * second ServiceEntry whose endpoints carry weights 3 and 1 (istiod's {@code load_balancing_weight}), balanced round
 * robin by a DestinationRule: 40 requests split 30/10.
 */
class PersistentSessionIT {

    @RegisterExtension
    static final ProcessHarness HARNESS = new ProcessHarness().named("persistent-session").keepBetweenTests();
    static final String HOST = "web.demo.svc.cluster.local";
    static final String WEIGHTED = "weighted.demo.svc.cluster.local";
    static final int HTTP_PORT = FreePorts.next();
    static final List<HttpServer> BACKENDS = new ArrayList<>();
    static Path work;

    @BeforeAll
    static void startMesh() throws Exception {
        work = HARNESS.workDir();
        Path config = work.resolve("config");
        Files.createDirectories(config);
        int[] ports = new int[2];
        for (int i = 0; i < 2; i++) {
            String name = "web-" + i;
            HttpServer s = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
            s.createContext("/", x -> {
                byte[] body = name.getBytes(StandardCharsets.UTF_8);
                x.getResponseHeaders().add("x-backend", name);
                x.sendResponseHeaders(200, body.length);
                x.getResponseBody().write(body);
                x.close();
            });
            s.start();
            BACKENDS.add(s);
            ports[i] = s.getAddress().getPort();
        }
        Files.writeString(config.resolve("mesh.yaml"), """
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata:
                  name: web
                  namespace: demo
                  labels: {istio.io/persistent-session: sticky}
                spec:
                  hosts: [%s]
                  location: MESH_INTERNAL
                  ports: [{number: 80, name: http, protocol: HTTP}]
                  resolution: STATIC
                  endpoints:
                  - {address: 127.0.0.1, ports: {http: %d}}
                  - {address: 127.0.0.1, ports: {http: %d}}
                ---
                apiVersion: networking.istio.io/v1
                kind: Gateway
                metadata: {name: edge, namespace: istio-system}
                spec:
                  selector: {istio: ingressgateway}
                  servers:
                  - port: {number: %d, name: http, protocol: HTTP}
                    hosts: [demo/%s, demo/weighted.demo.svc.cluster.local]
                ---
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: web, namespace: demo}
                spec:
                  hosts: [%s]
                  gateways: [istio-system/edge]
                  http:
                  - route: [{destination: {host: %s}}]
                ---
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: weighted, namespace: demo}
                spec:
                  hosts: [%s]
                  location: MESH_INTERNAL
                  ports: [{number: 80, name: http, protocol: HTTP}]
                  resolution: STATIC
                  endpoints:
                  - {address: 127.0.0.1, ports: {http: %d}, weight: 3}
                  - {address: 127.0.0.1, ports: {http: %d}, weight: 1}
                ---
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: weighted, namespace: demo}
                spec:
                  host: %s
                  trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN}}
                ---
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: weighted, namespace: demo}
                spec:
                  hosts: [%s]
                  gateways: [istio-system/edge]
                  http:
                  - route: [{destination: {host: %s}}]
                """.formatted(HOST, ports[0], ports[1], HTTP_PORT, HOST, HOST, HOST, WEIGHTED, ports[0], ports[1],
                WEIGHTED, WEIGHTED, WEIGHTED));
        RunningComponent pilot = HARNESS.start(Component.PILOT, Map.of("MESH_PILOT_CONFIG_DIR", config.toString(),
                "PILOT_ENABLE_PERSISTENT_SESSION_FILTER", "true"));
        RunningComponent gateway = HARNESS.startRouter(pilot);
    }

    @AfterAll
    static void stopBackends() {
        HARNESS.stopAll();
        BACKENDS.forEach(s -> s.stop(0));
    }

    /** curl to the service's host on the gateway: the backend that answered, and its Set-Cookie ("" for none). */
    static String[] curl(String... args) throws Exception {
        return curlHost(HOST, args);
    }

    static String[] curlHost(String host, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("curl", "-s", "--max-time", "5", "-D", "-", "-o", "/dev/null",
                "-H", "Host: " + host));
        cmd.addAll(List.of(args));
        cmd.add("http://127.0.0.1:" + HTTP_PORT + "/cart");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertTrue(out.startsWith("HTTP/1.1 200"), out);
        String backend = "";
        String cookie = "";
        for (String line : out.split("\r\n")) {
            String lower = line.toLowerCase(java.util.Locale.ROOT);
            if (lower.startsWith("x-backend:")) {
                backend = line.substring(10).trim();
            } else if (lower.startsWith("set-cookie:")) {
                cookie = line.substring(11).trim();
            }
        }
        return new String[] {backend, cookie};
    }

    @Test
    void theLabelMakesTheRoutersRequestsStickToOneEndpoint() throws Exception {
        Map<String, Integer> by = new TreeMap<>();
        for (int i = 0; i < 20; i++) {   // istiod's default least request: random among idle endpoints
            String[] r = curl();
            by.merge(r[0], 1, Integer::sum);
            assertTrue(r[1].matches("sticky=\"[A-Za-z0-9+/=]+\"; Path=/; HttpOnly"), "Envoy's Set-Cookie: " + r[1]);
        }
        assertEquals(List.of("web-0", "web-1"), List.copyOf(by.keySet()), "without a cookie both endpoints answer: " + by);
        Path jar = work.resolve("cookies.txt");
        String first = curl("-c", jar.toString())[0];
        for (int i = 0; i < 20; i++) {
            String[] r = curl("-b", jar.toString());
            assertEquals(first, r[0], "request " + i + " of the session");
            assertEquals("", r[1], "the same endpoint: no new cookie");
        }
    }

    @Test
    void endpointWeightsShareTheRoundRobin() throws Exception {
        Map<String, Integer> by = new TreeMap<>();
        for (int i = 0; i < 40; i++) {
            by.merge(curlHost(WEIGHTED)[0], 1, Integer::sum);
        }
        assertEquals(Map.of("web-0", 30, "web-1", 10), by, "weights 3 and 1");
    }
}
